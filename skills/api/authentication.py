"""``Authorization: Bearer <token>`` with DRF tokens (``manage.py drf_create_token USERNAME``)."""

from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="skill-kernel"'
