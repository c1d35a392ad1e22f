"""The byte-bounded LRU of loaded components."""

from runtime.cache import ComponentCache


def test_discard_drops_an_entry_and_its_bytes():
    cache = ComponentCache(max_bytes=100, size_of=len)
    cache.get("a", lambda: "x" * 10)
    cache.get("b", lambda: "y" * 20)
    cache.discard("a")
    cache.discard("missing")
    assert (cache.stats.bytes, cache.stats.entries) == (20, 1)
    loads = []
    cache.get("a", lambda: loads.append(1) or "x" * 10)
    assert loads == [1]  # loaded again after the discard
