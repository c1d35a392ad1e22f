"""Example message-stream skill: streams a text back word by word, the way a model streams tokens.

pharia-skill 0.20 (``pharia:skill@0.3``) exports no metadata from message-stream skills, so the
description, schema and example the catalogue shows for this skill come from ``haiku.json`` next
to it (``manage.py quickstart`` reads it); keep the two in step.
"""

from pydantic import BaseModel, ConfigDict, Field

from pharia_skill import Csi, MessageWriter, message_stream


class Input(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"text": "An old silent pond / a frog jumps into the pond / splash! Silence again."}]
        }
    )

    text: str = Field(description="Text to stream back word by word.")


class Summary(BaseModel):
    words: int = Field(description="How many words were streamed.")


@message_stream
def haiku(csi: Csi, writer: MessageWriter[Summary], input: Input) -> None:
    """Streams the given text back word by word and ends with the word count."""
    words = input.text.split()
    writer.begin_message()
    for word in words:
        writer.append_to_message(word + " ")
    writer.end_message(Summary(words=len(words)))
