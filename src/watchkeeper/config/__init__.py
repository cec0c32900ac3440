"""One validated YAML config for ``watchkeeper serve``, Prometheus-shaped where it can be.

    from watchkeeper.config import load_config
    loaded = load_config("watchkeeper.yml")   # ConfigError names file:line and the problem
"""

from watchkeeper.health.config import ConfigError

from .fields import (
    BasicAuth,
    RelabelConfig,
    TLSConfig,
    parse_duration_seconds,
    parse_size_bytes,
)
from .loader import LoadedConfig, default_config, load_config, parse_config
from .models import (
    Config,
    FileSDConfig,
    ScrapeConfig,
    StaticConfig,
    StorageConfig,
    WebConfig,
)

__all__ = [
    "BasicAuth",
    "Config",
    "ConfigError",
    "FileSDConfig",
    "LoadedConfig",
    "RelabelConfig",
    "ScrapeConfig",
    "StaticConfig",
    "StorageConfig",
    "TLSConfig",
    "WebConfig",
    "default_config",
    "load_config",
    "parse_config",
    "parse_duration_seconds",
    "parse_size_bytes",
]
