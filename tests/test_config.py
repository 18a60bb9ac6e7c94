from pathlib import Path

import pytest

from bot.config import ConfigError, ConfigIssue, check_references, load_config, loc_path
from bot.domain.org import OrgConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "centralita.yaml"

MINIMAL = """\
organization: {name: Clínica}
staff:
  - {id: ana, name: Ana García, slack_user: U0ANA}
  - {id: rocio, name: Rocío Díaz, roles: [receptionist], slack_user: U0ROCIO}
teams:
  - {id: recepcion, name: Recepción, slack_channel: C0RECEP, members: [ana]}
priorities:
  normal: {claim_within: 30m}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "centralita.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(path: Path) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return {issue.path: issue.reason for issue in caught.value.issues}


def test_the_example_loads_without_warnings() -> None:
    config = load_config(EXAMPLE)
    assert config.organization.name == "Clínica Dental Sonrisa"
    assert [s.id for s in config.staff] == ["ana", "luis", "marta", "rocio"]
    assert config.priority("urgent").claim_within.total_seconds() == 120
    assert config.reception.command == "/recado"
    assert any("blocked" in c.tags for c in config.contacts)
    assert check_references(config) == []


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert isinstance(config, OrgConfig)
    assert check_references(config) == []


def test_every_problem_is_listed_with_its_path(tmp_path: Path) -> None:
    broken = """\
organization: {name: Clínica, timezone: Mars/Olympus}
staff:
  - {id: ana, name: Ana, phone: "600 11"}
  - {id: Luis!, name: Luis, roles: [boss]}
priorities:
  urgent:
    claim_within: soon
    escalation: [{after: 2m, notify: oncall}, {after: 5x, notify: managers}]
triage:
  - {category: x, whenn: {}}
"""
    issues = issues_of(write(tmp_path, broken))
    assert "not a duration" in issues["priorities.urgent.claim_within"]
    assert "not a duration" in issues["priorities.urgent.escalation[1].after"]
    assert "international form" in issues["staff[0].phone"]
    assert "not a valid id" in issues["staff[1].id"]
    assert "staff[1].roles[0]" in issues
    assert "time zone" in issues["organization.timezone"]
    assert "unknown field" in issues["triage[0].whenn"]
    assert not any(reason.startswith("Value error") for reason in issues.values())


def test_the_error_message_lists_one_issue_per_line(tmp_path: Path) -> None:
    path = write(tmp_path, "organization: {name: Clínica}\nstaff: [{id: ana}]\nvoice: {hold_seconds: 1}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}:"
    assert "  staff[0].name: Field required" in lines
    assert any(line.startswith("  voice.hold_seconds: ") for line in lines)
    assert caught.value.path == path


def test_missing_file(tmp_path: Path) -> None:
    issues = issues_of(tmp_path / "nope.yaml")
    assert issues["(file)"].startswith("file not found: ")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    issues = issues_of(write(tmp_path, "organization:\n  name: [Clínica\nstaff: []\n"))
    [(path, reason)] = issues.items()
    assert path.startswith("line 3, column ")
    assert reason


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    issues = issues_of(write(tmp_path, MINIMAL + "teams: []\n"))
    [(path, reason)] = issues.items()
    assert path.startswith("line 9,")
    assert "'teams' is written twice" in reason


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "mapping" in issues_of(write(tmp_path, "- a\n- b\n"))["(root)"]
    assert "empty" in issues_of(write(tmp_path, "# nothing\n"))["(root)"]


def test_yaml_12_scalars(tmp_path: Path) -> None:
    text = MINIMAL.replace("{name: Clínica}", "{name: Clínica, holidays: {country: NO}}")
    text += "digest: {at: 9:30, days: mon-fri, to: [ana]}\n"
    config = load_config(write(tmp_path, text))
    assert config.digest is not None and config.digest.at == "9:30"
    assert config.organization.holidays is not None and config.organization.holidays.country == "NO"


def test_unknown_holiday_calendar_is_an_error(tmp_path: Path) -> None:
    bad_country = MINIMAL.replace("{name: Clínica}", "{name: Clínica, holidays: {country: XX}}")
    assert "organization.holidays.country" in issues_of(write(tmp_path, bad_country))
    bad_region = MINIMAL.replace(
        "{name: Clínica}", "{name: Clínica, holidays: {country: ES, subdivision: ZZ}}"
    )
    assert "MD" in issues_of(write(tmp_path, bad_region))["organization.holidays.subdivision"]
    lower_case = MINIMAL.replace(
        "{name: Clínica}", "{name: Clínica, holidays: {country: es, subdivision: md}}"
    )
    assert load_config(write(tmp_path, lower_case)).organization.holidays is not None


def test_a_duplicate_id_is_named_at_its_second_use(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - {id: rocio, name: Rocío Díaz", "  - {id: ana, name: Rocío Díaz")
    issues = issues_of(write(tmp_path, text))
    [path] = [p for p in issues if "more than once" in issues[p]]
    assert path == "staff[1].id"


def test_reference_warnings(tmp_path: Path) -> None:
    text = """\
organization: {name: Clínica, fallback_team: nadie}
staff:
  - {id: ana, name: Ana García}
  - {id: marta, name: Marta López, roles: [manager], slack_user: U0MARTA}
teams:
  - {id: recepcion, name: Recepción, members: [ana, pepe], oncall: [luis]}
contacts:
  - {name: Juan, phone: "+34911222333", owner: ghost}
triage:
  - {category: a, priority: urgent, route: somewhere}
  - {category: b, priority: urgente, route: owner}
  - {category: c, priority: urgent, route: marta}
priorities:
  urgent:
    claim_within: 2m
    escalation: [{after: 2m, notify: everybody}, {after: 5m, notify: managers, via: [slack, whatsapp, sms]}]
digest: {to: [marta, boss]}
"""
    warnings = {str(issue) for issue in check_references(load_config(write(tmp_path, text)))}
    expected_paths = [
        "triage[0].route",
        "triage[1].priority",
        "teams[0].members[1]",
        "teams[0].oncall[0]",
        "teams[0].slack_channel",
        "contacts[0].owner",
        "priorities.urgent.escalation[0].notify",
        "priorities.urgent.escalation[1].via",
        "digest.to[1]",
        "staff[0].slack_user",
        "organization.fallback_team",
        "reception.allow",
    ]
    for path in expected_paths:
        assert any(w.startswith(f"{path}: ") for w in warnings), path
    assert len(warnings) == len(expected_paths) + 1  # via lists both sms and whatsapp
    assert (
        "priorities.urgent.escalation[1].via: nobody on staff has a number for whatsapp, so this step"
        " sends no whatsapp message" in warnings
    )


def test_no_teams_and_no_managers_warn(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "teams:\n  - {id: recepcion, name: Recepción, slack_channel: C0RECEP, members: [ana]}\n", ""
    )
    text += "  urgent: {claim_within: 2m, escalation: [{after: 2m, notify: managers}]}\n"
    warnings = check_references(load_config(write(tmp_path, text)))
    assert ConfigIssue("teams", "no teams: calls have nowhere to go but the console channel") in warnings
    assert any(w.path == "priorities.urgent.escalation[0].notify" for w in warnings)


def test_loc_path() -> None:
    assert (
        loc_path(("priorities", "urgent", "escalation", 1, "after"))
        == "priorities.urgent.escalation[1].after"
    )
    assert loc_path(("staff", 2, "phone")) == "staff[2].phone"
    assert loc_path(()) == "(root)"
    assert str(ConfigIssue("staff[0].phone", "bad")) == "staff[0].phone: bad"


def test_a_digest_at_an_hour_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    issues = issues_of(write(tmp_path, MINIMAL + 'digest: {at: "25:00", to: [ana]}\n'))
    assert issues == {"digest.at": "'25:00' is not a time of day; write it like 08:30"}


def test_a_digest_for_nobody_reachable_warns_with_its_path(tmp_path: Path) -> None:
    text = MINIMAL.replace("teams:", "  - {id: marta, name: Marta, roles: [manager]}\nteams:")
    text += "digest: {to: [ana, marta, pepe]}\n"
    warnings = {issue.path: issue.reason for issue in check_references(load_config(write(tmp_path, text)))}
    assert warnings["digest.to[1]"] == "'marta' has no slack_user, teams_user or email: the digest cannot reach them"
    assert warnings["digest.to[2]"].startswith("'pepe' is not a staff id")
    assert "digest.to[0]" not in warnings


def test_a_webhook_needs_an_http_url_and_a_standard_webhooks_secret(tmp_path: Path) -> None:
    text = MINIMAL + "webhooks:\n  - {url: ftp://crm, secret: hunter2, events: [card.opened, card.exploded]}\n"
    issues = issues_of(write(tmp_path, text))
    assert issues["webhooks[0].url"] == "'ftp://crm' is not an http:// or https:// URL"
    assert issues["webhooks[0].secret"] == "write the secret as whsec_ followed by base64 (at least 12 bytes)"
    assert "webhooks[0].events[1]" in issues


def test_slack_ids_written_as_names_are_errors_that_say_where_the_id_is(tmp_path: Path) -> None:
    text = MINIMAL.replace("slack_user: U0ANA", 'slack_user: "@ana"').replace(
        "slack_channel: C0RECEP", 'slack_channel: "#recepcion"'
    )
    issues = issues_of(write(tmp_path, text))
    assert "Copy member ID" in issues["staff[0].slack_user"] and "U…" in issues["staff[0].slack_user"]
    assert "Channel ID" in issues["teams[0].slack_channel"] and "C…" in issues["teams[0].slack_channel"]


def test_slack_ids_of_every_kind_are_accepted(tmp_path: Path) -> None:
    text = MINIMAL.replace("U0ANA", "W012ABCDE").replace("C0RECEP", "G01PRIVATE")
    config = load_config(write(tmp_path, text))
    assert config.staff[0].slack_user == "W012ABCDE" and config.teams[0].slack_channel == "G01PRIVATE"


def test_an_error_inside_a_field_names_its_full_path(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "organization: {name: Clínica}",
        'organization: {name: Clínica, phone_numbers: ["+34910000000", "91 000"],'
        ' business_hours: {mon-fri: ["09:00-14:00"], sat: ["9-14"]}}',
    )
    issues = issues_of(write(tmp_path, text))
    assert "time span" in issues["organization.business_hours.sat[0]"]
    assert "international form" in issues["organization.phone_numbers[1]"]


def test_teams_channels_and_users_are_optional_and_checked_loosely(tmp_path: Path) -> None:
    text = MINIMAL.replace("slack_user: U0ANA}", "teams_user: 00000000-0000-0000-0000-0000000000a1}")
    text = text.replace("slack_channel: C0RECEP,", "teams_channel: '19:abc@thread.tacv2',")
    config = load_config(write(tmp_path, text))
    assert config.teams[0].chat_channels() == {"teams": "19:abc@thread.tacv2"}
    assert config.staff_by_identity("teams", "00000000-0000-0000-0000-0000000000a1") == config.staff[0]
    warnings = {issue.path for issue in check_references(config)}
    assert "teams[0].slack_channel" not in warnings and "staff[0].slack_user" not in warnings

    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, MINIMAL.replace("slack_user: U0ANA}", "teams_user: 'two words'}")))
    assert "staff[0].teams_user" in str(error.value)


def test_retention_has_defaults_and_each_wrong_duration_is_named(tmp_path: Path) -> None:
    from datetime import timedelta

    config = load_config(write(tmp_path, MINIMAL))
    assert config.retention.transcripts == timedelta(days=90)
    assert config.retention.closed_cards == timedelta(days=730)
    broken = MINIMAL + "retention: {transcripts: 2y, recordings: 3 meses, notes: 1h, closed: 1y}\n"
    issues = issues_of(write(tmp_path, broken))
    assert "not a duration" in issues["retention.recordings"]
    assert "at least one day" in issues["retention.notes"]
    assert "unknown field" in issues["retention.closed"]
    assert "retention.transcripts" not in issues


def test_a_team_mailbox_is_an_address_and_needs_staff_to_act_from_it(tmp_path: Path) -> None:
    bad = MINIMAL.replace("members: [ana]}", "members: [ana], email: recepcion-at-clinica}")
    assert issues_of(write(tmp_path, bad)) == {
        "teams[0].email": "'recepcion-at-clinica' is not an email address, like recepcion@clinica.example"
    }
    staff_bad = MINIMAL.replace("slack_user: U0ANA}", "slack_user: U0ANA, email: 'ana @clinica'}")
    assert "staff[0].email" in issues_of(write(tmp_path, staff_bad))

    nobody = MINIMAL.replace(
        "members: [ana]}",
        "members: [ana]}\n  - {id: caja, name: Caja, members: [pepe], email: caja@clinica.example}",
    )
    config = load_config(write(tmp_path, nobody))
    assert config.team("caja") is not None and config.team("caja").email == "caja@clinica.example"  # type: ignore[union-attr]
    warnings = {issue.path: issue.reason for issue in check_references(config)}
    assert warnings["teams[1].email"] == "the team has no staff: nobody can say who they are on its mailbox's links"
    assert "teams[1].slack_channel" not in warnings, "a team with a mailbox is not console-only"
    assert "teams[0].email" not in warnings
