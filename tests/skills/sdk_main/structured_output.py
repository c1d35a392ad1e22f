"""A pharia:skill@0.4.0 test skill (current SDK): JSON-schema structured output.

Asks the model for an instance of ``Review``'s JSON schema (``response_format`` ``JsonSchema``)
and returns the parsed, validated object as the skill output.
"""

from pydantic import BaseModel

from pharia_skill import ChatParams, Csi, Message, skill
from pharia_skill.csi.inference import JsonSchema


class Input(BaseModel):
    text: str
    model: str = "test-model"
    strict: bool | None = True


class Review(BaseModel):
    title: str
    year: int
    rating: float
    recommended: bool


@skill
def structured_output(csi: Csi, input: Input) -> Review:
    """Extracts a review of the input text as structured output."""
    schema = JsonSchema(
        name="review",
        description="A short review",
        schema=Review.model_json_schema(),
        strict=input.strict,
    )
    params = ChatParams(response_format=schema)
    response = csi.chat(input.model, [Message.user(f"Review this: {input.text}")], params)
    if response.message.content is None:
        raise ValueError("the model returned no content")
    return Review.model_validate_json(response.message.content)
