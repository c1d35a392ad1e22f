"""A pharia:skill@0.4.0 test skill (current SDK): chat tool calling, the tools run by the skill.

It offers the namespace's tools ``tools`` (their schemas from ``csi.list_tools``) to the model,
invokes each tool call the model makes through ``csi.invoke_tool``, sends the tool results back and
returns the model's final answer.
"""

from typing import Any

from pydantic import BaseModel

from pharia_skill import ChatParams, Csi, Message, ToolError, skill
from pharia_skill.csi.inference import NamedToolChoice


class Input(BaseModel):
    question: str
    tools: list[str] = ["add"]
    tool_choice: str | None = None  # "auto" | "required" | "none" | a tool name
    model: str = "test-model"
    max_rounds: int = 3


class Call(BaseModel):
    id: str
    name: str
    arguments: dict[str, Any]
    result: str
    ok: bool


class Output(BaseModel):
    answer: str | None
    calls: list[Call]
    finish_reasons: list[str]
    roles: list[str]


@skill
def tool_calling(csi: Csi, input: Input) -> Output:
    """Answers a question with the help of the namespace's tools."""
    offered = [tool for tool in csi.list_tools() if tool.name in input.tools]
    missing = set(input.tools) - {tool.name for tool in offered}
    if missing:
        raise ValueError(f"tools not configured in the namespace: {sorted(missing)}")
    choice: Any = input.tool_choice
    if choice not in (None, "auto", "required", "none"):
        choice = NamedToolChoice(choice)
    params = ChatParams(tools=offered, tool_choice=choice)
    messages = [Message.user(input.question)]
    calls: list[Call] = []
    finish_reasons: list[str] = []
    for _ in range(input.max_rounds):
        response = csi.chat(input.model, messages, params)
        finish_reasons.append(response.finish_reason.value)
        tool_calls = response.message.tool_calls
        if not tool_calls:
            messages.append(response.message)
            return Output(
                answer=response.message.content,
                calls=calls,
                finish_reasons=finish_reasons,
                roles=[m.role.value for m in messages],
            )
        messages.append(Message.assistant(None, tool_calls=tool_calls))
        for call in tool_calls:
            try:
                result, ok = csi.invoke_tool(call.name, **call.arguments).text(), True
            except ToolError as error:
                result, ok = error.message, False
            calls.append(Call(id=call.id, name=call.name, arguments=call.arguments, result=result, ok=ok))
            messages.append(Message.tool(result, tool_call_id=call.id))
    raise RuntimeError(f"no final answer after {input.max_rounds} rounds")
