"""Evaluation test skill, version 1: a rough sentiment label and arithmetic that is a little off."""

from pydantic import BaseModel

from pharia_skill import Csi, skill
from pharia_skill.csi.inference import CompletionParams


class Input(BaseModel):
    text: str
    number: float = 0.0
    ask: bool = False
    model: str = "test-model"


class Output(BaseModel):
    label: str
    words: int
    double: float
    answer: str = ""


@skill
def grader(csi: Csi, input: Input) -> Output:
    """Labels a text positive or negative and doubles a number (version 1)."""
    label = "positive" if "good" in input.text else "negative"
    answer = ""
    if input.ask:
        answer = csi.complete(input.model, input.text, CompletionParams(max_tokens=8)).text
    return Output(label=label, words=len(input.text.split()), double=input.number * 2 + 0.5, answer=answer)
