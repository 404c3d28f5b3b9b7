"""An app whose modules the autodiscovery tests import (never installed in the suite itself)."""
