"""GitOps: namespaces whose skills come from OCI registries, namespace files and watched directories.

Imports run one way: ``sync`` (applies a source to the models) uses ``descriptions`` (reads
namespace files and directories) and ``oci`` (pulls from registries); ``config`` (the
``NAMESPACES_CONFIG`` file) writes source rows; ``poller`` runs ``sync`` on an interval. Only
``sync``, ``config`` and ``poller`` touch Django; ``descriptions`` and ``oci`` are plain Python.
"""
