"""A message-stream test skill: streams words, or fails midway, or calls a tool."""

from pydantic import BaseModel

from pharia_skill import Csi, MessageWriter, message_stream


class Input(BaseModel):
    text: str
    fail_after: int = -1
    delay_spins: int = 0
    tool: str = ""


class Payload(BaseModel):
    words: int


@message_stream
def stream_words(csi: Csi, writer: MessageWriter[Payload], input: Input) -> None:
    """Streams the input back word by word, then ends with the number of words."""
    words = input.text.split()
    if input.tool:
        csi.invoke_tool(input.tool, a=len(words), b=1)
    writer.begin_message()
    for index, word in enumerate(words):
        if index == input.fail_after:
            raise RuntimeError(f"failed after {index} words")
        for _ in range(input.delay_spins):
            pass
        writer.append_to_message(word + " ")
    writer.end_message(Payload(words=len(words)))
