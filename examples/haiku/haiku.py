"""Example message-stream skill: streams the words of a text back, one event per word."""

from pydantic import BaseModel, Field

from pharia_skill import Csi, MessageWriter, message_stream


class Input(BaseModel):
    text: str = Field(description="Text to stream back word by word.")


class Summary(BaseModel):
    words: int


@message_stream
def haiku(csi: Csi, writer: MessageWriter[Summary], input: Input) -> None:
    """Streams the given text back word by word and ends with the word count."""
    words = input.text.split()
    writer.begin_message()
    for word in words:
        writer.append_to_message(word + " ")
    writer.end_message(Summary(words=len(words)))
