"""OpenTelemetry metrics in and out over OTLP/HTTP.

In: ``POST /v1/metrics`` on ``watchkeeper serve`` takes OTLP protobuf or JSON and stores it
under the names the OpenTelemetry-to-Prometheus compatibility specification gives
(``translate``). The protobuf classes come from the optional ``otlp`` extra
(``opentelemetry-proto``), imported only when OTLP is used.
"""

from __future__ import annotations

from .decode import JSON, PROTOBUF, OTLPError, decode_request, media_type
from .naming import label_name, metric_name
from .translate import Translation, translate

__all__ = ["JSON", "PROTOBUF", "OTLPError", "Translation", "decode_request", "label_name",
           "media_type", "metric_name", "translate"]
