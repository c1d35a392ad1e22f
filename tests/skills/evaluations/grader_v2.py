"""Evaluation test skill, version 2: a better sentiment label and exact arithmetic."""

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


POSITIVE = ("good", "great", "fine", "happy")


@skill
def grader(csi: Csi, input: Input) -> Output:
    """Labels a text positive or negative and doubles a number (version 2)."""
    text = input.text.lower()
    label = "positive" if any(word in text for word in POSITIVE) and "not" not in text else "negative"
    answer = ""
    if input.ask:
        answer = csi.complete(input.model, input.text, CompletionParams(max_tokens=8)).text
    return Output(label=label, words=len(input.text.split()), double=input.number * 2, answer=answer)
