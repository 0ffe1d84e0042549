"""Configuration checks: every problem names the file, the field path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.pages import load_worker_config
from escalation.config import Config, ConfigError, load_config, read_yaml
from escalation.models import Route, Routing, Severity

SUPPORT = "policies/support.yaml"
DEMO = "policies/demo.yaml"
ROSTER = "roster.yaml"
ROUTING = "routing.yaml"
SEVERITY_CHOICES = "Input should be 'SEV1', 'SEV2', 'SEV3' or 'SEV4'"


def edit(directory: Path, file: str, old: str, new: str) -> int:
    """Replace the first ``old`` in ``file``; return the 1-based line where it was."""
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{file} no longer contains {old!r}; update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def problems(directory: Path) -> list[str]:
    """Every problem ``escalate check`` reports, page templates included."""
    with pytest.raises(ConfigError) as caught:
        load_worker_config(directory)
    assert caught.value.problems, "a ConfigError must list at least one problem"
    return caught.value.problems


def the_problem(directory: Path, file: str, field: str) -> str:
    """The single problem reported for ``file`` at ``field`` (a field path or ``line N``)."""
    found = problems(directory)
    prefix = f"{directory / file}: {field}"
    matching = [p for p in found if p.startswith(prefix)]
    assert len(matching) == 1, f"expected one problem starting {prefix!r}, got:\n" + "\n".join(found)
    return matching[0]


# --- the example configuration ---------------------------------------------------------


@pytest.fixture
def example(config_dir: Path) -> Config:
    return load_config(config_dir)


def test_example_config_loads(example: Config) -> None:
    assert set(example.policies) == {"demo", "support"}
    assert {"ana", "ben", "sofia", "exec-eve"} <= set(example.roster.responders)
    assert example.policies["support"].repeat == 1


@pytest.mark.parametrize("severity", list(Severity))
def test_example_routes_demo_to_demo_and_everything_else_to_support(
    example: Config, severity: Severity
) -> None:
    assert example.policy_for("demo", severity).name == "demo"
    assert example.policy_for("payments", severity).name == "support"


def test_explicit_policy_overrides_routing(example: Config) -> None:
    assert example.policy_for("payments", Severity.SEV2, override="demo").name == "demo"


def test_unknown_explicit_policy_lists_the_known_ones(example: Config) -> None:
    with pytest.raises(ConfigError) as caught:
        example.policy_for("payments", Severity.SEV2, override="nope")
    assert caught.value.problems == ["policy 'nope' does not exist; use one of: demo, support"]


def test_most_specific_route_wins() -> None:
    routing = Routing(
        default="support",
        routes=[
            Route(service="db", policy="db"),
            Route(service="db", severity=Severity.SEV1, policy="db-urgent"),
        ],
    )
    assert routing.policy_for("db", Severity.SEV1) == "db-urgent"
    assert routing.policy_for("db", Severity.SEV3) == "db"
    assert routing.policy_for("web", Severity.SEV1) == "support"


def test_policy_name_defaults_to_the_file_name(config_dir: Path) -> None:
    edit(config_dir, DEMO, "name: demo\n", "")
    assert load_config(config_dir).policies["demo"].name == "demo"


# --- policy files ----------------------------------------------------------------------


def test_empty_tier_list(config_dir: Path) -> None:
    path = config_dir / DEMO
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("tiers:")] + "tiers: []\n", encoding="utf-8")
    assert the_problem(config_dir, DEMO, "tiers:").endswith("must not be empty; add at least one entry")


def test_primary_target_missing_from_roster(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "primary: [sofia]", "primary: [zed]")
    assert the_problem(config_dir, SUPPORT, "tiers[1].primary[0]:").endswith(
        "'zed' is not in roster.yaml; add them under responders or fix the id"
    )


def test_backup_target_missing_from_roster(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "backup: [dba-raj]", "backup: [dba-rob]")
    assert "'dba-rob' is not in roster.yaml" in the_problem(config_dir, SUPPORT, "tiers[2].backup[0]:")


@pytest.mark.parametrize(
    ("old", "new", "field", "fix"),
    [
        ("ack_timeout: 15m", "ack_timeout: 0s", "tiers[0].ack_timeout:", "the smallest duration is 1s"),
        ("backup_timeout: 10m", "backup_timeout: 0s", "tiers[0].backup_timeout:", "smallest duration is 1s"),
        ("resolve_deadline: 4h", "resolve_deadline: 0s", "resolve_deadline:", "the smallest duration is 1s"),
        ("ack_timeout: 15m", "ack_timeout: soon", "tiers[0].ack_timeout:", 'write it like "45s"'),
        ("backup_timeout: 10m", "backup_timeout: soon", "tiers[0].backup_timeout:", 'write it like "45s"'),
        ("resolve_deadline: 4h", "resolve_deadline: soon", "resolve_deadline:", 'write it like "45s"'),
        ("ack_timeout: 15m", "ack_timeout: 15", "tiers[0].ack_timeout:", "bare number 15 has no unit"),
    ],
)
def test_bad_duration(config_dir: Path, old: str, new: str, field: str, fix: str) -> None:
    edit(config_dir, SUPPORT, old, new)
    assert fix in the_problem(config_dir, SUPPORT, field)


def test_duplicate_tier_names(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "name: supervisor", "name: frontline")
    message = the_problem(config_dir, SUPPORT, "tiers[1].name")
    assert "'frontline' repeats tiers[0].name; give every tier a unique name" in message


def test_repeat_from_that_is_not_a_tier(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "repeat: 1 ", "repeat: 1\nrepeat_from: boss ")
    message = the_problem(config_dir, SUPPORT, "repeat_from")
    assert "'boss' is not a tier; use one of frontline, supervisor, specialist, management" in message


def test_start_tier_that_is_not_a_tier(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "start_tier: supervisor", "start_tier: boss")
    message = the_problem(config_dir, SUPPORT, "severities.SEV1.start_tier")
    assert "'boss' is not a tier; use one of frontline, supervisor, specialist, management" in message


def test_unknown_severity_in_a_policy(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "SEV2: {", "SEV9: {")
    assert SEVERITY_CHOICES in the_problem(config_dir, SUPPORT, "severities.SEV9")


def test_invalid_identifier(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "name: frontline", "name: Front Line")
    assert "use lower-case letters, digits" in the_problem(config_dir, SUPPORT, "tiers[0].name:")


def test_same_policy_name_in_two_files(config_dir: Path) -> None:
    (config_dir / "policies/zz-copy.yaml").write_text(
        (config_dir / DEMO).read_text(encoding="utf-8"), encoding="utf-8"
    )
    message = the_problem(config_dir, "policies/zz-copy.yaml", "name:")
    assert f"policy 'demo' is also defined in {config_dir / DEMO}; give each policy a unique name" in message


# --- unknown keys ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "field", "suggestion"),
    [
        (SUPPORT, "ack_timeout: 15m", "ack_timout: 15m", "tiers[0].ack_timout", "ack_timeout"),
        (SUPPORT, "repeat: 1", "repeats: 1", "repeats", "repeat"),
        (
            SUPPORT,
            "start_tier: supervisor",
            "start_teir: supervisor",
            "severities.SEV1.start_teir",
            "start_tier",
        ),
        (ROSTER, "responders:", "responder:", "responder", "responders"),
        (ROSTER, "contact: {email: ben", "contacts: {email: ben", "responders.ben.contacts", "contact"),
        (ROSTER, "{email: ben", "{emial: ben", "responders.ben.contact.emial", "email"),
        (ROUTING, "default: support", "defualt: support", "defualt", "default"),
        (ROUTING, "policy: demo", "polcy: demo", "routes[0].polcy", "policy"),
    ],
)
def test_unknown_key_suggests_the_right_spelling(
    config_dir: Path, file: str, old: str, new: str, field: str, suggestion: str
) -> None:
    edit(config_dir, file, old, new)
    assert the_problem(config_dir, file, f"{field}:").endswith(f"unknown key; did you mean {suggestion!r}?")


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(config_dir: Path) -> None:
    edit(config_dir, ROUTING, "default: support", "default: support\nzzz: 1")
    assert the_problem(config_dir, ROUTING, "zzz:").endswith("unknown key; allowed keys: default, routes")


def test_misspelt_required_key_is_also_reported_missing(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "ack_timeout: 15m", "ack_timout: 15m")
    assert the_problem(config_dir, SUPPORT, "tiers[0].ack_timeout:").endswith("is required; add it")


# --- routing ---------------------------------------------------------------------------


def test_route_to_a_missing_policy(config_dir: Path) -> None:
    edit(config_dir, ROUTING, "policy: demo", "policy: nope")
    assert the_problem(config_dir, ROUTING, "routes[0].policy:").endswith(
        "policy 'nope' does not exist; use one of: demo, support"
    )


def test_default_to_a_missing_policy(config_dir: Path) -> None:
    edit(config_dir, ROUTING, "default: support", "default: nope")
    assert the_problem(config_dir, ROUTING, "default:").endswith(
        "policy 'nope' does not exist; use one of: demo, support"
    )


def test_unknown_severity_in_a_route(config_dir: Path) -> None:
    edit(config_dir, ROUTING, "policy: demo", "policy: demo\n    severity: SEV9")
    assert SEVERITY_CHOICES in the_problem(config_dir, ROUTING, "routes[0].severity:")


# --- files and YAML --------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line(config_dir: Path) -> None:
    line = edit(config_dir, SUPPORT, "description: Default ladder for", "description: Default ladder: for")
    message = the_problem(config_dir, SUPPORT, f"line {line}:")
    assert message.endswith("mapping values are not allowed here; fix the YAML syntax")


def test_duplicated_yaml_key_names_the_second_line(config_dir: Path) -> None:
    line = edit(config_dir, ROUTING, "default: support\n", "default: support\ndefault: demo\n")
    message = the_problem(config_dir, ROUTING, f"line {line + 1}:")
    assert "key 'default' appears twice; keep one" in message


def test_duplicated_nested_yaml_key(config_dir: Path) -> None:
    line = edit(config_dir, SUPPORT, "    backup: [ben]\n", "    backup: [ben]\n    backup: [sam]\n")
    assert "key 'backup' appears twice" in the_problem(config_dir, SUPPORT, f"line {line + 1}:")


def test_missing_roster(config_dir: Path) -> None:
    (config_dir / ROSTER).unlink()
    assert the_problem(config_dir, ROSTER, "file is missing").endswith(
        "create it (see docs/configuration.md)"
    )


def test_empty_roster_file(config_dir: Path) -> None:
    (config_dir / ROSTER).write_text("", encoding="utf-8")
    assert "expected a mapping of keys at the top level" in the_problem(config_dir, ROSTER, "expected")


def test_empty_policies_directory(config_dir: Path) -> None:
    for path in (config_dir / "policies").iterdir():
        path.unlink()
    assert the_problem(config_dir, "policies", "no policy files").endswith("add at least one policy")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nowhere")
    [message] = caught.value.problems
    assert message.startswith(f"{tmp_path / 'nowhere'}: configuration directory not found")
    assert "set ESCALATION_CONFIG" in message


def test_every_problem_is_reported_at_once(config_dir: Path) -> None:
    edit(config_dir, DEMO, "primary: [ana]", "primary: [zed]")
    edit(config_dir, SUPPORT, "resolve_deadline: 4h", "resolve_deadline: soon")
    edit(config_dir, ROUTING, "policy: demo", "policy: nope")
    edit(config_dir, ROSTER, "name: Ben Frontline", "nmae: Ben Frontline")
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    found = caught.value.problems
    expected_prefixes = [
        f"{config_dir / ROSTER}: responders.ben.nmae: unknown key",
        f"{config_dir / ROSTER}: responders.ben.name: is required",
        f"{config_dir / SUPPORT}: resolve_deadline: 'soon' is not a duration",
        f"{config_dir / ROUTING}: routes[0].policy: policy 'nope' does not exist",
    ]
    for prefix in expected_prefixes:
        assert any(p.startswith(prefix) for p in found), f"{prefix!r} missing from:\n" + "\n".join(found)
    assert all(f"  - {p}" in str(caught.value) for p in found)
    assert str(caught.value).startswith("invalid configuration:\n")


def test_cross_checks_run_alongside_file_errors(config_dir: Path) -> None:
    edit(config_dir, DEMO, "primary: [ana]", "primary: [zed]")
    edit(config_dir, ROUTING, "default: support", "default: nope")
    found = problems(config_dir)
    assert len(found) == 2
    assert found[0].startswith(f"{config_dir / DEMO}: tiers[0].primary[0]: 'zed' is not in roster.yaml")
    assert found[1].startswith(f"{config_dir / ROUTING}: default: policy 'nope' does not exist")


def test_unknown_responders_are_reported_even_in_a_policy_with_other_errors(config_dir: Path) -> None:
    edit(config_dir, DEMO, "primary: [ana]", "primary: [zed]")
    edit(config_dir, DEMO, "ack_timeout: 8s", "ack_timout: 8s")
    found = [p for p in problems(config_dir) if p.startswith(str(config_dir / DEMO))]
    assert any(p.endswith("tiers[0].ack_timout: unknown key; did you mean 'ack_timeout'?") for p in found)
    assert any("tiers[0].primary[0]: 'zed' is not in roster.yaml" in p for p in found), found


# --- edge cases found in review ----------------------------------------------------


def test_invalid_policy_is_not_also_reported_as_missing(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "resolve_deadline: 4h", "resolve_deadline: soon")
    found = problems(config_dir)
    assert not [p for p in found if "policy 'support' does not exist" in p], "\n".join(found)


def test_yaml_merge_keys_are_accepted(config_dir: Path) -> None:
    edit(config_dir, DEMO, "  - name: supervisor\n", "  - &supervisor\n    name: supervisor\n")
    edit(
        config_dir,
        DEMO,
        "  - name: specialist\n    primary: [dba-kim, net-lee]\n    ack_timeout: 8s\n",
        "  - <<: *supervisor\n    name: specialist\n    primary: [dba-kim, net-lee]\n",
    )
    specialist = load_config(config_dir).policies["demo"].tiers[2]
    assert (specialist.name, specialist.primary, specialist.backup) == (
        "specialist",
        ["dba-kim", "net-lee"],
        ["sam"],
    )


def test_absurd_duration_is_a_config_error(config_dir: Path) -> None:
    edit(config_dir, SUPPORT, "resolve_deadline: 4h", "resolve_deadline: 100000000000000s")
    assert "too long: the longest duration is 365d" in the_problem(config_dir, SUPPORT, "resolve_deadline:")


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text("a: b\n" * (1024 * 1024 // 5 + 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_yaml(huge)
    assert caught.value.problems == [f"{huge}: is larger than the 1 MiB limit; point to a smaller YAML file"]


def test_an_endless_file_is_read_only_up_to_the_limit() -> None:
    with pytest.raises(ConfigError, match="/dev/zero: is larger than the 1 MiB limit"):
        read_yaml(Path("/dev/zero"))


@pytest.mark.parametrize("complex_key", ["? [a]\n: 1\n", "outer:\n  ? {a: 1}\n  : 2\n"])
def test_a_list_or_mapping_used_as_a_key_names_the_line(tmp_path: Path, complex_key: str) -> None:
    path = tmp_path / "complex.yaml"
    path.write_text(complex_key, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    line = 1 if complex_key.startswith("?") else 2
    assert caught.value.problems == [
        f"{path}: line {line}: a key must be a plain value, not a list or mapping; fix the YAML syntax"
    ]
