"""Example RAG skill: answers a question from a document collection of the kernel.

It searches the collection through the CSI (the kernel's built-in document index by default) and,
when a model is named and the kernel has inference configured, asks the model to answer from the
passages found; without a model it returns the passages, so it works on a fresh `make start`.
`manage.py quickstart` loads `examples/rag/handbook/` into the collection `examples/handbook`.
"""

from pydantic import BaseModel, ConfigDict, Field

from pharia_skill import CompletionParams, Csi, IndexPath, skill


class Input(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"question": "How do I deploy a new skill version?"}]})

    question: str = Field(description="What to look up.", examples=["How do I deploy a new skill version?"])
    collection: str = Field(default="examples/handbook", description="NAMESPACE/COLLECTION to search.")
    index: str = Field(default="default", description="The index of the collection to search.")
    max_results: int = Field(default=3, ge=1, le=20, description="How many passages to use.")
    model: str | None = Field(
        default=None, description="A model of the kernel's inference backend; without one, passages only."
    )


class Source(BaseModel):
    document: str
    content: str
    score: float


class Output(BaseModel):
    answer: str | None = Field(description="The model's answer, or null when no model was named.")
    sources: list[Source] = Field(description="The passages found, best first.")


PROMPT = """Answer the question using only the passages below. If they do not answer it, say so.

{passages}

Question: {question}
Answer:"""


@skill
def rag(csi: Csi, input: Input) -> Output:
    """Answers a question from a document collection: searches it with the kernel's document index
    and, if you name a `model`, lets that model answer from the passages found."""
    namespace, _, collection = input.collection.partition("/")
    results = csi.search(IndexPath(namespace, collection, input.index), input.question, max_results=input.max_results)
    sources = [Source(document=r.document_path.name, content=r.content, score=r.score) for r in results]
    answer = None
    if input.model and sources:
        passages = "\n\n".join(f"[{s.document}] {s.content}" for s in sources)
        prompt = PROMPT.format(passages=passages, question=input.question)
        answer = csi.complete(input.model, prompt, CompletionParams(max_tokens=256)).text.strip()
    return Output(answer=answer, sources=sources)
