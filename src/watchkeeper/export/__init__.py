"""Getting watchkeeper's data and definitions out to the rest of the Prometheus ecosystem."""
