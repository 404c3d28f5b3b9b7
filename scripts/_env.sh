# Shared by scripts/demo, scripts/test and scripts/bench: find an interpreter and keep a
# virtual environment per (Python, Django) pair, created on first use and refreshed when
# pyproject.toml changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# find_python 3.11 -> the path of a CPython 3.11 interpreter (pyenv's, or one on PATH)
find_python() {
    local want="$1" candidate
    for candidate in \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin/python"$want" \
        "$(command -v "python$want" 2>/dev/null || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# ensure_venv DIR PYTHON_VERSION DJANGO_SPEC [EXTRA_PIP_ARGS...] -> creates/refreshes DIR
ensure_venv() {
    local dir="$1" version="$2" django_spec="$3"
    shift 3
    local python stamp want
    python="$(find_python "$version")" || {
        echo "error: Python $version not found (install it, e.g. 'pyenv install $version')" >&2
        return 1
    }
    want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/_env.sh" | sha256sum | cut -c1-16) $django_spec $*"
    stamp="$dir/.installed"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    echo "==> setting up $dir (Python $version, $django_spec)" >&2
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --upgrade pip
    # The package, editable, with the dev dependency group (pyproject.toml: the suite, the docs
    # and release tools); pip 25.1 or later reads dependency groups.
    "$dir/bin/python" -m pip install --quiet -e "$ROOT" --group "$ROOT/pyproject.toml:dev" "$django_spec" "$@"
    echo "$want" >"$stamp"
}
