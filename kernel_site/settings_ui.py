"""Settings of the ui area (catalogue, admin, API tokens), read from the environment.

Imported at the end of kernel_site.settings; LOGIN_URL here overrides the one set there.
"""

from kernel_site.env import envbool, envint

# The admin asks for a TOTP (or static recovery) code after the password; default: on unless DEBUG.
ADMIN_REQUIRE_2FA = envbool("ADMIN_REQUIRE_2FA", not envbool("DEBUG", False))
# Seconds between two writes of an API token's last_used_at (saves a write per request); default 60.
API_TOKEN_TOUCH_SECONDS = envint("API_TOKEN_TOUCH_SECONDS", 60)
# Runs per page of the catalogue's run history; default 50.
CATALOGUE_RUNS_PER_PAGE = envint("CATALOGUE_RUNS_PER_PAGE", 50)

# The catalogue's own login page: anyone with a grant may log in there, not only staff.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
# Issuer shown in authenticator apps for the admin's TOTP devices.
OTP_TOTP_ISSUER = "Skill Kernel"
