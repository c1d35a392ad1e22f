"""Output shapes of the invocation API."""

from rest_framework import serializers

from skills.models import Run, SkillVersion


class MetadataSerializer(serializers.ModelSerializer):
    """``GET /v1/skills/{ns}/{name}/metadata``: the Pharia Kernel shape plus type and version."""

    type = serializers.CharField(source="skill_type")
    version = serializers.CharField(source="digest")

    class Meta:
        model = SkillVersion
        fields = ["description", "input_schema", "output_schema", "type", "version"]


class RunSerializer(serializers.ModelSerializer):
    skill = serializers.CharField(source="skill.qualified_name")
    version = serializers.CharField(source="version.digest")
    output = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "url",
            "skill",
            "version",
            "tag",
            "mode",
            "status",
            "output",
            "error",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "trace_id",
        ]

    def get_output(self, run: Run):
        import json

        return json.loads(run.output) if run.output else None

    def get_error(self, run: Run):
        if not run.error_kind:
            return None
        return {"kind": run.error_kind, "message": run.error_message}

    def get_url(self, run: Run) -> str:
        request = self.context.get("request")
        path = f"/api/v1/runs/{run.id}"
        return request.build_absolute_uri(path) if request else path
