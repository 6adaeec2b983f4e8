"""Admin tools: connections view, doctor, mapping preview, metrics, plugin scaffold."""

__all__: list[str] = []
