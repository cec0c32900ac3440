import pytest

from watchkeeper.tsdb.store import Store


@pytest.fixture
def open_store(tmp_path):
    """Open stores without background threads; everything opened is closed afterwards."""
    opened = []

    def _open(path=None, **options):
        options.setdefault("background", False)
        store = Store.open(path or tmp_path / "data", **options)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()
