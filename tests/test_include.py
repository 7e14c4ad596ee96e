"""``include = [...]`` and ``[set]``: how parameter files (such as those ``dtaosim calibrate`` writes) merge
into an experiment, and how a bad one is refused in one line."""

import pytest

from dtaosim.config import included_files, load_config, resolve_includes
from dtaosim.errors import ConfigError

EXP = '''name = "exp"
seed = 1
include = ["params.toml"]
[horizon]
days = 3
[network]
n_subnets = 5
[[agents]]
strategy = "momentum"
count = 10
budget = { median = 100.0, sigma = 1.0 }
params = { threshold = 0.05 }
'''


def _write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_tables_merge_key_by_key_and_the_including_file_wins(tmp_path):
    _write(tmp_path, "params.toml",
           '[network]\nn_subnets = 9\nexternal_tao = 12345.0\n[horizon]\nblocks_per_tick = 720\n')
    cfg = load_config(_write(tmp_path, "exp.toml", EXP))
    assert cfg.network.n_subnets == 5  # the including file's own value wins
    assert cfg.network.external_tao == 12345.0  # the included file fills what the experiment does not say
    assert cfg.horizon.blocks_per_tick == 720 and cfg.horizon.days == 3


def test_arrays_of_tables_are_replaced_whole(tmp_path):
    _write(tmp_path, "params.toml", '[[agents]]\nstrategy = "passive"\ncount = 2\nbudget = 1.0\n')
    cfg = load_config(_write(tmp_path, "exp.toml", EXP))
    assert [a.strategy for a in cfg.agents] == ["momentum"]


def test_set_reaches_into_the_experiments_own_agents_and_keeps_defaults(tmp_path):
    _write(tmp_path, "params.toml", '[set]\n"agents[0].params.threshold" = 0.011\n"agents[0].budget.median" = 77.0\n'
           '"miners.cost_per_day.median" = 0.5\n"horizon.blocks" = 720\n[fit]\nmoments = ["price_median"]\n')
    cfg = load_config(_write(tmp_path, "exp.toml", EXP))
    assert cfg.agents[0].params["threshold"] == 0.011
    assert cfg.agents[0].budget.median == 77.0 and cfg.agents[0].budget.sigma == 1.0
    assert cfg.miners.cost_per_day.median == 0.5 and cfg.miners.cost_per_day.sigma == 1.0  # default sigma kept
    assert cfg.horizon.blocks == 720 and cfg.horizon.days is None  # blocks clears days
    [(path, fit)] = included_files(tmp_path / "exp.toml")
    assert path.name == "params.toml" and fit["moments"] == ["price_median"]


def test_the_including_files_set_comes_after_the_included_files(tmp_path):
    _write(tmp_path, "params.toml", '[set]\n"network.n_subnets" = 7\n')
    cfg = load_config(_write(tmp_path, "exp.toml", EXP + '[set]\n"network.n_subnets" = 8\n'))
    assert cfg.network.n_subnets == 8
    cfg = load_config(_write(tmp_path, "exp.toml", EXP))
    assert cfg.network.n_subnets == 7  # a [set] of an included file beats the experiment's table


def test_nested_includes_relative_to_their_own_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path, "params.toml", 'include = ["sub/deeper.toml"]\n')
    _write(tmp_path / "sub", "deeper.toml", '[network]\nexternal_tao = 999.0\n')
    assert load_config(_write(tmp_path, "exp.toml", EXP)).network.external_tao == 999.0


@pytest.mark.parametrize(("params", "needle"), [
    (None, "exp.toml: include[0]: 'params.toml' is not allowed; no such file"),
    ('include = ["exp.toml"]\n', "params.toml: include[0]: 'exp.toml' is not allowed; the includes form a cycle "
                                  "(exp.toml -> params.toml -> exp.toml)"),
    ('[set]\n"agents[3].count" = 1\n', "params.toml: set.agents[3].count: 1 is not allowed; index 3 is out of range"),
    ('[set]\n"seed.x" = 1\n', "params.toml: set.seed.x: 1 is not allowed; seed is a single value"),
    ('[set]\n"a..b" = 1\n', "params.toml: set.a..b: 1 is not allowed; the name is not a dotted field path"),
    ('set = 3\n', "params.toml: set: 3 is not allowed"),
    ('[set]\n"network.n_subnets" = -2\n', "exp.toml: network.n_subnets: -2 is not allowed"),
    ("not toml [", "exp.toml: include[0]: 'params.toml' is not allowed; not valid TOML"),
])
def test_bad_includes_are_one_line_naming_file_field_and_value(tmp_path, params, needle):
    if params is not None:
        _write(tmp_path, "params.toml", params)
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, "exp.toml", EXP))
    assert needle in str(e.value).splitlines()[0], str(e.value)


def test_include_must_be_a_list_of_names():
    with pytest.raises(ConfigError, match=r"config: include: 'x\.toml' is not allowed; expected a list"):
        resolve_includes({"include": "x.toml"})
    with pytest.raises(ConfigError, match=r"config: include\[0\]: 1 is not allowed"):
        resolve_includes({"include": [1]})
