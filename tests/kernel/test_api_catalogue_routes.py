"""GET /v1/skills and GET .../metadata in the Pharia Kernel's shapes."""


def test_list_skills_by_type(alice):
    assert sorted(alice.client.get("/v1/skills").json()) == ["test/sink", "test/stream"]
    assert alice.client.get("/v1/skills?type=chat").json() == ["test/stream"]
    assert alice.client.get("/v1/skills?type=programmable").json() == ["test/sink"]


def test_metadata(alice):
    metadata = alice.client.get("/v1/skills/test/sink/metadata").json()
    assert metadata["description"].startswith("Test skill")
    assert metadata["input_schema"]["required"] == ["action"]
    assert metadata["output_schema"]["title"] == "Output"
    assert metadata["type"] == "programmable"
    stream = alice.client.get("/v1/skills/test/stream/metadata").json()
    assert stream["type"] == "chat" and stream["input_schema"] is None


def test_inactive_skill_disappears(alice):
    from skills.models import Skill

    Skill.objects.filter(name="sink").update(is_active=False)
    assert alice.client.get("/v1/skills").json() == ["test/stream"]
    assert alice.run("test/sink", {"action": "echo"}).status_code == 404
