"""Packaging and deployment: what docker-compose.yml and the Dockerfile name exists and is used, the wheel's package
data covers every file the app reads, `jingzhi setup` deploys bpmn/ only where it differs and never over a
designer's version, and a busy port stops the web app and the demo at once.

The wheel itself is built, installed and browsed by scripts/check_wheel.py (run by .ci/run).
"""
from __future__ import annotations

import fnmatch
import re
import socket
import sqlite3
import tomllib
from pathlib import Path

import pytest
import yaml

from engine import Config, Engine
from engine.config import packaged
from jingzhi.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
OURS = {name: spec for name, spec in COMPOSE["services"].items() if spec.get("image") == "jingzhi:latest"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ASSETS_SCRIPT = (ROOT / "scripts" / "build-assets.sh").read_text(encoding="utf-8")
CODE = "\n".join(p.read_text(encoding="utf-8") for package in ("engine", "webui", "sensors", "jingzhi")
                 for p in (ROOT / package).rglob("*.py"))


def dockerfile() -> list[tuple[str, str, str]]:
    """(stage, instruction, arguments) of every instruction, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    stage, found = None, []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction == "FROM":
            words = arguments.split()
            stage = words[2] if len(words) == 3 and words[1].upper() == "AS" else "final"
        found.append((stage, instruction, arguments.strip()))
    return found


# -- compose --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("service", sorted(OURS))
def test_every_compose_command_parses_as_a_jingzhi_command(service):
    args = build_parser().parse_args(OURS[service]["command"])   # exits (SystemExit) on an unknown command or option
    assert callable(args.func)


def test_compose_sets_up_once_and_every_service_waits_for_it():
    setup = OURS["setup"]
    assert setup["command"] == ["setup"] and setup["restart"] == "no"
    assert {"postgres", "redis", "mosquitto"} <= set(setup["depends_on"])
    assert COMPOSE["services"]["postgres"]["healthcheck"]
    for name in ("web", "worker", "ticker", "ingest"):
        assert OURS[name]["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}, name
    # nothing deploys bpmn/ on every `up` any more: only setup deploys, and only where the files differ
    assert not [name for name, spec in OURS.items() if spec["command"][0] == "deploy"
                and "--if-changed" not in spec["command"]]


def test_every_variable_compose_sets_is_read_by_the_code_and_every_secret_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, spec in OURS.items():
        for variable in spec["environment"]:
            assert f'"{variable}"' in CODE, f"{name} sets {variable}, which nothing reads"
    interpolated = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text(encoding="utf-8")))
    assert {"POSTGRES_PASSWORD", "JINGZHI_SECRET_KEY", "JINGZHI_ADMIN_PASSWORD"} <= interpolated
    assert [v for v in sorted(interpolated) if f"`{v}`" not in readme] == []
    assert OURS["setup"]["environment"]["JINGZHI_ADMIN_PASSWORD"] == "${JINGZHI_ADMIN_PASSWORD:-}"  # first up only


def test_the_configuration_compose_gives_every_service_parses_with_the_optional_settings_left_empty():
    """An unset optional variable reaches the container as an empty string: each must read as 'off', not fail."""
    from engine import Config

    for name, spec in OURS.items():
        env = {variable: "" if re.fullmatch(r"\$\{\w+:-\}", str(value)) else "x"
               for variable, value in spec["environment"].items()}
        env["DATABASE_URL"] = "postgresql+psycopg://jingzhi:pw@postgres:5432/jingzhi"
        config = Config.from_env(env)
        assert config.channels.smtp_host is None and config.channels.sms_url is None, name
        assert config.channels.smtp_port == 25, name


def test_every_file_compose_mounts_from_the_checkout_exists():
    mounts = [volume.split(":")[0] for spec in COMPOSE["services"].values() for volume in spec.get("volumes", [])]
    local = [m for m in mounts if m.startswith(".")]
    assert local and all((ROOT / m).exists() for m in local), local
    named = {m for m in mounts if not m.startswith((".", "/"))}
    assert named <= set(COMPOSE["volumes"])


# -- Dockerfile -----------------------------------------------------------------------------------------------------

def test_every_file_the_dockerfile_copies_exists_and_every_stage_it_copies_from_is_defined():
    instructions = dockerfile()
    stages = {stage for stage, instruction, _ in instructions if instruction == "FROM"}
    assert {"assets", "wheel", "final"} <= stages
    for stage, instruction, arguments in instructions:
        if instruction != "COPY":
            continue
        words = arguments.split()
        if words[0].startswith("--from="):
            assert words[0].removeprefix("--from=") in stages, arguments
            continue
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"{stage}: COPY {source}: no such file in the checkout"


def test_every_package_of_the_wheel_is_copied_by_the_image_and_by_the_wheel_check():
    """The wheel is built from copies in two places: the Dockerfile's wheel stage and scripts/check_wheel.py. A
    top-level package missing from either builds a broken wheel there only."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_wheel", ROOT / "scripts" / "check_wheel.py")
    check_wheel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_wheel)
    top_level = {name.split(".")[0] for name in PYPROJECT["tool"]["setuptools"]["packages"]}
    copied = {words.split()[0] for stage, instruction, words in dockerfile()
              if stage == "wheel" and instruction == "COPY" and not words.startswith("--from=")}
    assert top_level - copied == set(), "the Dockerfile's wheel stage does not copy these packages"
    assert top_level - set(check_wheel.SOURCES) == set(), "scripts/check_wheel.py does not copy these packages"


def test_the_image_builds_the_bundles_with_the_recipe_of_make_assets_and_installs_only_the_wheel():
    instructions = dockerfile()
    runs = {stage: [a for s, i, a in instructions if s == stage and i == "RUN"] for stage in ("assets", "wheel",
                                                                                            "final")}
    assert runs["assets"] == ["bash scripts/build-assets.sh"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^assets:\n\tbash scripts/build-assets.sh\n\t\$\(BIN\)/python -m webui.catalogues$", makefile,
                     re.MULTILINE)
    copied = {w for s, i, a in instructions if s == "assets" and i == "COPY" for w in a.split()[:-1]}
    assert {"frontend/package.json", "scripts/build-assets.sh", "frontend/src"} <= copied
    wheel_copies = {w for s, i, a in instructions if s == "wheel" and i == "COPY" for w in a.split()[:-1]}
    packages = {p.split(".")[0] for p in PYPROJECT["tool"]["setuptools"]["packages"]}
    data_dirs = set(PYPROJECT["tool"]["setuptools"]["package-dir"].values())
    assert packages | data_dirs | {"pyproject.toml", PYPROJECT["project"]["readme"]} <= wheel_copies
    assert "setup.py" in wheel_copies                        # its build_py compiles the UI's catalogues (.mo)
    assert "--from=assets /src/webui/static/vendor ./webui/static/vendor" in [
        a for s, i, a in instructions if s == "wheel" and i == "COPY"]
    assert any("pip wheel" in command for command in runs["wheel"])
    assert any(re.search(r'pip install .*jingzhi-\*\.whl\)\[web\]', command) for command in runs["final"])
    [entrypoint] = [a for s, i, a in instructions if s == "final" and i == "ENTRYPOINT"]
    assert entrypoint == '["jingzhi"]' and "jingzhi" in PYPROJECT["project"]["scripts"]
    for stage, instruction, arguments in instructions:
        if stage == "final" and instruction == "ENV":
            variable = arguments.split("=")[0]
            assert f'"{variable}"' in CODE, variable


def test_every_bundle_a_page_loads_comes_from_the_recipe_and_travels_in_the_wheel():
    sources = [*(ROOT / "webui" / "templates").glob("*.html"), *(ROOT / "webui" / "static").glob("*.js")]
    named = {m for p in sources for m in re.findall(r"vendor/[\w./-]+", p.read_text(encoding="utf-8"))}
    assert {"vendor/bpmn-navigated-viewer.production.min.js", "vendor/bpmn-modeler.production.min.js",
            "vendor/dmn-modeler.production.min.js", "vendor/jingzhi-lint.js"} <= named
    build = (ROOT / "frontend" / "package.json").read_text(encoding="utf-8")
    vendor = ROOT / "webui" / "static" / "vendor"
    webui_data = PYPROJECT["tool"]["setuptools"]["package-data"]["webui"]
    for path in sorted(named):
        name = path.removeprefix("vendor/")
        # named in the recipe, esbuild's outfile, or inside a directory the recipe copies whole (bpmn-js's and
        # dmn-js's dist/assets)
        assert (Path(name).name in ASSETS_SCRIPT or Path(name).name in build or name.startswith(("bpmn-font/", "dmn/"))
                or name in ("bpmn-js.css", "diagram-js.css")), path
        assert (vendor / name).exists(), f"{path}: not built (make assets)"
        assert any(fnmatch.fnmatch(f"static/{path}", glob) for glob in webui_data), f"{path}: not in the wheel"


def test_the_package_data_covers_every_file_the_app_reads():
    setuptools = PYPROJECT["tool"]["setuptools"]
    data, directories = setuptools["package-data"], setuptools["package-dir"]

    def covered(package: str, base: Path) -> list[str]:
        globs = data.get(package, [])
        return [str(f.relative_to(ROOT)) for f in base.rglob("*") if f.is_file() and "__pycache__" not in f.parts
                and f.suffix != ".py" and not any(fnmatch.fnmatch(str(f.relative_to(base)), g) for g in globs)]

    assert covered("webui", ROOT / "webui") == []            # templates, scripts, styles, spiffworkflow-moddle.json
    assert covered("engine", ROOT / "engine") == []          # the migrations' script template
    assert covered("simulation", ROOT / "simulation") == []  # calibration.json: `jingzhi sim` reads it
    assert covered("engine.data.seed", ROOT / directories["engine.data.seed"]) == []
    assert covered("engine.data.bpmn", ROOT / directories["engine.data.bpmn"]) == []
    assert directories == {"engine.data.seed": "seed", "engine.data.bpmn": "bpmn"}


# -- data files from the configuration ------------------------------------------------------------------------------

def test_the_roster_and_the_diagrams_come_from_the_configuration(tmp_path):
    default = Config.from_env({})
    assert Path(default.roster_file) == packaged("seed", "teams.json") == ROOT / "seed" / "teams.json"
    assert Path(default.bpmn_dir) == packaged("bpmn") == ROOT / "bpmn"
    chosen = Config.from_env({"JINGZHI_ROSTER_FILE": str(tmp_path / "t.json"), "JINGZHI_BPMN_DIR": str(tmp_path)})
    assert (chosen.roster_file, chosen.bpmn_dir) == (str(tmp_path / "t.json"), str(tmp_path))


def test_teams_load_reads_jingzhi_roster_file_and_says_so_when_it_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'roster.db'}")
    roster = tmp_path / "roster.json"
    roster.write_text('{"teams": [{"code": "night_watch", "name": "夜巡队", "kind": "property"}]}', encoding="utf-8")
    monkeypatch.setenv("JINGZHI_ROSTER_FILE", str(roster))
    assert main(["teams", "load"]) == 0
    assert f"loaded 1 team(s) from {roster}" in capsys.readouterr().out
    monkeypatch.setenv("JINGZHI_ROSTER_FILE", str(tmp_path / "absent.json"))
    assert main(["teams", "load"]) == 2
    assert "no roster file at" in capsys.readouterr().err


# -- setup: migrate, roster, first admin, bpmn/ only where it differs ---------------------------------------------

def test_setup_creates_the_admin_and_deploys_once_then_never_over_a_designers_version(tmp_path, monkeypatch,
                                                                                       capsys):
    database = tmp_path / "setup.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.delenv("JINGZHI_ADMIN_PASSWORD", raising=False)
    assert main(["setup", "--admin", "chief"]) == 2      # no admin yet and no password: refused, clearly
    assert "set JINGZHI_ADMIN_PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv("JINGZHI_ADMIN_PASSWORD", "first-admin-pw")
    assert main(["setup", "--admin", "chief"]) == 0
    out = capsys.readouterr().out
    assert "admin chief: created" in out and "closed_loop: not deployed yet" in out
    assert "deployed: " in out and "closed_loop v1" in out
    assert main(["setup", "--admin", "chief"]) == 0      # a second `up`: nothing changes
    out = capsys.readouterr().out
    assert "admin chief: exists already, kept as it is" in out
    assert "closed_loop: same as v1" in out and "nothing deployed: every process is the same" in out

    # a designer deploys closed_loop v2 with another deadline from the browser (the whole set, as the designer does)
    engine = Engine(Config(database_url=f"sqlite:///{database}"))
    files = {p.name: p.read_bytes() for p in sorted((ROOT / "bpmn").iterdir())}
    text = files["closed_loop.bpmn"].decode("utf-8")
    edited = text.replace('name="dueIn" value="&quot;PT30M&quot;"', 'name="dueIn" value="&quot;PT2H&quot;"', 1)
    assert edited != text
    assert engine.deploy({**files, "closed_loop.bpmn": edited.encode()}, deployed_by="designer-wang").created
    engine.store.dispose()
    assert main(["setup", "--admin", "chief"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"closed_loop: v2 deployed by designer-wang at .* not deployed over it", out)
    assert "nothing deployed: closed_loop changed since by someone else" in out
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT max(version) FROM process_definition WHERE process_id = 'closed_loop'"
                          ).fetchone() == (2,)
        newest = db.execute("SELECT d.deployed_by FROM process_definition p JOIN deployment d "
                            "ON d.id = p.deployment_id WHERE p.process_id = 'closed_loop' ORDER BY p.version DESC"
                            ).fetchone()
    assert newest == ("designer-wang",)


def test_deploy_if_changed_deploys_a_changed_set_it_deployed_itself(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'changed.db'}")
    diagrams = ROOT / "tests" / "engine" / "diagrams"
    deployment = tmp_path / "set"
    deployment.mkdir()
    for name in ("inspection.bpmn", "register.schema.json"):
        (deployment / name).write_bytes((diagrams / name).read_bytes())
    assert main(["deploy", str(deployment), "--if-changed", "--actor", "ops"]) == 0
    assert "deployed: inspection v1" in capsys.readouterr().out
    schema = deployment / "register.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace("{", '{"title": "登记", ', 1), encoding="utf-8")
    assert main(["deploy", str(deployment), "--if-changed", "--actor", "ops"]) == 0
    out = capsys.readouterr().out
    assert "inspection: differs from v1 (deployed by ops)" in out and "deployed: inspection v2" in out
    assert main(["deploy", str(deployment), "--if-changed", "--actor", "someone-else"]) == 0
    assert "inspection: same as v2" in capsys.readouterr().out


def test_ensure_admin_keeps_an_existing_user_as_it_is(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'admin.db'}")
    monkeypatch.setenv("JINGZHI_ADMIN_PASSWORD", "short")
    assert main(["user", "ensure-admin", "--username", "root"]) == 2      # too short: refused, nothing stored
    assert "at least 8 characters" in capsys.readouterr().err
    monkeypatch.setenv("JINGZHI_ADMIN_PASSWORD", "long-enough-pw")
    assert main(["user", "ensure-admin", "--username", "root"]) == 0
    assert "admin root: created" in capsys.readouterr().out
    monkeypatch.setenv("JINGZHI_ADMIN_PASSWORD", "another-password")
    assert main(["user", "ensure-admin", "--username", "root"]) == 0
    assert "exists already, kept as it is" in capsys.readouterr().out
    from engine import people
    store = Engine(Config(database_url=f"sqlite:///{tmp_path / 'admin.db'}")).store
    assert people.authenticate(store, "root", "long-enough-pw")["roles"] == ["admin"]
    assert people.authenticate(store, "root", "another-password") is None


# -- a busy port ----------------------------------------------------------------------------------------------------

@pytest.fixture
def busy_port():
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


def test_the_demo_on_a_busy_port_stops_before_it_sets_up_anything(tmp_path, busy_port, capsys):
    database = tmp_path / "busy.db"
    assert main(["demo", "--database", str(database), "--port", str(busy_port)]) == 1
    captured = capsys.readouterr()
    assert f"cannot listen on 127.0.0.1:{busy_port}: Address already in use" in captured.err
    assert "choose another with --port" in captured.err
    assert "simulated district" not in captured.out and "web inbox" not in captured.out
    assert not database.exists()


def test_web_on_a_busy_port_exits_with_a_clear_message(tmp_path, busy_port, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    assert main(["web", "--port", str(busy_port)]) == 1
    assert f"cannot listen on 127.0.0.1:{busy_port}" in capsys.readouterr().err


def test_the_readme_documents_the_demo_options_and_the_designer_login():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = next(a for a in build_parser()._actions if a.dest == "command").choices["demo"]
    for option in ("--port", "--host"):
        assert option in {o for a in demo._actions for o in a.option_strings}
        assert f"jingzhi demo {option}" in readme or f"{option} " in readme
    assert "a designer" in readme
    assert "`jingzhi setup`" in readme and "`jingzhi deploy [PATH] [--if-changed]`" in readme


def test_every_python_package_is_in_the_wheel():
    """setuptools takes only the packages listed: a new subpackage (engine/deploy, engine/alarms) left off the list
    would install a wheel that cannot import its engine."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for package in ("engine", "webui", "sensors", "integrations",
                                                                             "jingzhi", "simulation")
             for init in (ROOT / package).rglob("__init__.py")}
    assert found - listed == set()
