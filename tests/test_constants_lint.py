"""Chain constants live in the regime table and nowhere else in the package."""

import re
from pathlib import Path

import dtaosim

PACKAGE = Path(dtaosim.__file__).parent
CHAIN_CONSTANTS = re.compile(
    r"(^|[^0-9.])(0\.18|0\.41|201_?600|65_?535|11_?796|7_?200|21_?000_?000|32_?767|864_?000|57_?600|1\.26)([^0-9]|$)"
)


def test_chain_constants_only_in_regimes():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "regimes.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if CHAIN_CONSTANTS.search(code) and '"""' not in line:
                offenders.append(f"{path.relative_to(PACKAGE)}:{i}: {line.strip()}")
    assert not offenders, "chain constants outside protocol/regimes.py:\n" + "\n".join(offenders)


def test_the_lint_catches_a_constant(tmp_path):
    assert CHAIN_CONSTANTS.search("owner = alpha * 0.18")
    assert CHAIN_CONSTANTS.search("h = 201600")
    assert not CHAIN_CONSTANTS.search("x = 10.18 + 0.415")
