"""An app whose observers module fails to import, for the autodiscovery tests."""
