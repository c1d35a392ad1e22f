"""The CSI shell: the kernel's CSI over HTTP, for the official SDK's ``DevCsi``."""
