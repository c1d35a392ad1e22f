"""Example skill: greets a person, in the language their name's note is written in."""

from pydantic import BaseModel, ConfigDict, Field

from pharia_skill import Csi, Language, skill


class Input(BaseModel):
    # The catalogue's example and pre-filled try-it: a German note, detected by the kernel.
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Ada", "note": "Das Wetter ist heute schön."}]})

    name: str = Field(description="Who to greet.", examples=["Ada"])
    note: str = Field(
        default="", description="Optional text; its language (English, German or French) picks the greeting."
    )


class Output(BaseModel):
    greeting: str = Field(description="The greeting, in the note's language.")
    language: str | None = Field(default=None, description="ISO 639-3 code of the detected language.")


GREETINGS = {Language.English: "Hello", Language.German: "Hallo", Language.French: "Bonjour"}


@skill
def hello(csi: Csi, input: Input) -> Output:
    """Greets someone by name. If you pass a `note`, the greeting follows its language
    (English, German or French), detected by the kernel's language service."""
    language = None
    if input.note:
        language = csi.select_language(input.note, list(GREETINGS))
    word = GREETINGS.get(language, "Hello") if language else "Hello"
    return Output(greeting=f"{word}, {input.name}!", language=language.value if language else None)
