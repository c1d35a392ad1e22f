"""``Authorization: Bearer <token>``: named API tokens (``sk_...``) or DRF tokens.

DRF tokens (``manage.py drf_create_token USERNAME``) keep working; API tokens
(``manage.py create_api_token`` or the admin) add a label, expiry, revocation and last use.
"""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from skills.services import tokens


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"

    def authenticate_credentials(self, key):
        if key.startswith(tokens.PREFIX):
            found = tokens.user_for(key)
            if found is None:
                raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
            return found
        return super().authenticate_credentials(key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="skill-kernel"'
