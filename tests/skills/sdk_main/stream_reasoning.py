"""A pharia:skill@0.4.0 message-stream test skill (current SDK): streams a chat stream's reasoning
and message text (``MessageWriter.forward_response``), optionally with tools the SDK invokes.

End payload: ``{"finish_reason": "stop", "usage": {"prompt": n, "completion": n}}``.
With ``fail_after: N`` it streams the reply itself and raises after N appends (an internal error
midway through the message).
"""

from pydantic import BaseModel

from pharia_skill import ChatParams, Csi, Message, MessageWriter, message_stream
from pharia_skill.csi.inference import Reasoning


class Input(BaseModel):
    text: str
    model: str = "reasoning-model"
    tools: list[str] = []
    fail_after: int = -1


class Usage(BaseModel):
    prompt: int
    completion: int


class Payload(BaseModel):
    finish_reason: str
    usage: Usage


def _payload(response) -> Payload:  # noqa: ANN001 - ChatStreamResponse
    usage = response.usage()
    return Payload(
        finish_reason=response.finish_reason().value,
        usage=Usage(prompt=usage.prompt, completion=usage.completion),
    )


@message_stream
def stream_reasoning(csi: Csi, writer: MessageWriter[Payload], input: Input) -> None:
    """Streams the model's reasoning and answer."""
    messages = [Message.user(input.text)]
    with csi.chat_stream(input.model, messages, ChatParams(), tools=input.tools or None) as response:
        if input.fail_after < 0:
            writer.forward_response(response, _payload)
            return
        writer.begin_message(response.role)
        appends = 0
        for event in response.stream():
            if isinstance(event, Reasoning):
                writer.append_to_reasoning(event.content)
                continue
            if appends == input.fail_after:
                raise RuntimeError(f"failed after {appends} appends")
            writer.append_to_message(event.content)
            appends += 1
        writer.end_message(_payload(response))
