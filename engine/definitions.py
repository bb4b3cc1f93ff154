"""Deployed process definitions: storing a validated file set as new versions, and the parsed-spec cache."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import clock, defaults
from .catalogue import diagram_file
from .exceptions import Message, NotFound
from .models import AuditEvent, Deployment, ProcessDefinition
from .store import Store
from .deploy.validation import BPMN_SUFFIX, ParsedSet, validate_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployResult:
    deployment_id: int
    created: bool                 # False when the same content was deployed before
    versions: dict[str, int]      # process id -> version


@dataclass(frozen=True)
class LoadedDefinition:
    """A definition version ready to run: its specs parsed once and shared by every instance of it."""

    id: int
    process_id: str
    version: int
    spec: object
    subprocess_specs: dict
    forms: dict


@dataclass(frozen=True)
class DeployDecision:
    """What :meth:`Definitions.deploy_if_changed` did with a file set: the deployment when it made one, and one line
    per process saying why (for the log of whoever runs it)."""

    result: DeployResult | None   # None: nothing deployed
    lines: list[str]


def content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        # surrogatepass: a name that is not valid Unicode still hashes, and validation then refuses it by name
        digest.update(name.encode("utf-8", "surrogatepass") + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


class Definitions:
    def __init__(self, store: Store, cache_size: int = defaults.SPEC_CACHE_SIZE):
        self.store = store
        self._cache: OrderedDict[int, LoadedDefinition] = OrderedDict()
        self._parsed_deployments: OrderedDict[int, ParsedSet] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def deploy(self, files: dict[str, bytes], deployed_by: str, kind: str = "deployment.created",
               detail: dict | None = None, roster: set[str] | None = None) -> DeployResult:
        """Validate ``files`` and store them as a new version of every process they define.

        Raises DeploymentRejected (nothing stored) when anything is wrong, a team name missing from ``roster`` too
        when one is given. Content that is already the newest version of every process it defines makes no new
        version (``created=False``); the content of an older version deployed again does: that is how a roll back
        works.
        """
        digest = content_hash(files)
        current = self._current(digest)
        if current:
            return current
        parsed = validate_files(files, roster)
        try:
            return self._store(files, digest, parsed, deployed_by, kind, detail or {})
        except IntegrityError:  # another deployment took the same version numbers at the same moment
            current = self._current(digest)
            if current:
                return current
            raise

    def deploy_if_changed(self, files: dict[str, bytes], deployed_by: str,
                          roster: set[str] | None = None) -> DeployDecision:
        """Deploy ``files`` only when a process in them differs from its newest version, and never over a version
        someone other than ``deployed_by`` deployed since (a designer's edit in the browser): then nothing is
        deployed and the lines say which processes hold it back. The unit is the whole set, as with :meth:`deploy`:
        one deployment makes a version of every process in it.

        A process "differs" when its own .bpmn file or any form or decision table of the set is not the same text
        in its newest version's deployment (forms and tables may be shared between processes).
        """
        parsed = validate_files(files, roster)   # a broken set is refused before anything is compared
        texts = {name: data.decode("utf-8") for name, data in files.items()}
        changed, held, lines = [], [], []
        with self.store.read() as connection:
            for process_id in sorted(parsed.specs):
                newest = connection.execute(
                    select(ProcessDefinition.version, Deployment.deployed_by, Deployment.deployed_at, Deployment.files)
                    .join(Deployment, Deployment.id == ProcessDefinition.deployment_id)
                    .where(ProcessDefinition.process_id == process_id)
                    .order_by(ProcessDefinition.version.desc()).limit(1)).one_or_none()
                if newest is None:
                    changed.append(process_id)
                    lines.append(f"{process_id}: not deployed yet")
                elif _same_process(texts, newest.files, process_id):
                    lines.append(f"{process_id}: same as v{newest.version}")
                elif newest.deployed_by != deployed_by:
                    held.append(process_id)
                    lines.append(f"{process_id}: v{newest.version} deployed by {newest.deployed_by} at "
                                 f"{newest.deployed_at:%Y-%m-%d %H:%M} differs from these files and is newer than "
                                 f"what {deployed_by} deployed: not deployed over it")
                else:
                    changed.append(process_id)
                    lines.append(f"{process_id}: differs from v{newest.version} (deployed by {deployed_by})")
        if held:
            lines.append(f"nothing deployed: {', '.join(held)} changed since by someone else; compare the versions "
                         f"in the designer, and deploy these files by hand (jingzhi deploy PATH) if they should win")
            decision = DeployDecision(None, lines)
        elif not changed:
            lines.append("nothing deployed: every process is the same as its newest version")
            decision = DeployDecision(None, lines)
        else:
            result = self.deploy(files, deployed_by, roster=roster)
            lines.append("deployed: " + ", ".join(f"{p} v{v}" for p, v in sorted(result.versions.items())))
            decision = DeployDecision(result, lines)
        for line in lines:
            log.info("deploy if changed: %s", line)
        return decision

    def roll_back(self, deployment_id: int, deployed_by: str) -> DeployResult:
        """Make an older deployment's content current again: its files become a new version of its processes.

        New instances then start on the old content; running ones stay where they are. When that content is the
        newest already, nothing is stored (``created=False``).
        """
        with self.store.read() as connection:
            files = connection.scalar(select(Deployment.files).where(Deployment.id == deployment_id))
        if files is None:
            raise NotFound(Message("deployment {deployment} does not exist", deployment=deployment_id))
        return self.deploy({name: text.encode("utf-8") for name, text in files.items()}, deployed_by,
                           "deployment.rolled_back", {"rolled_back_to": deployment_id})

    def _store(self, files: dict[str, bytes], digest: str, parsed: ParsedSet, deployed_by: str, kind: str,
               detail: dict) -> DeployResult:
        with self.store.transaction() as session:
            now = clock.now()
            deployment = Deployment(content_hash=digest, deployed_by=deployed_by, deployed_at=now,
                                    files={name: data.decode("utf-8") for name, data in files.items()})
            session.add(deployment)
            session.flush()
            versions = {}
            for process_id in sorted(parsed.specs):
                latest = session.scalar(select(func.max(ProcessDefinition.version))
                                        .where(ProcessDefinition.process_id == process_id)) or 0
                session.add(ProcessDefinition(process_id=process_id, version=latest + 1,
                                              name=parsed.names[process_id], deployment_id=deployment.id,
                                              deployed_at=now))
                versions[process_id] = latest + 1
            session.add(AuditEvent(instance_id=None, at=now, actor=deployed_by, kind=kind,
                                   detail={"deployment_id": deployment.id, "versions": versions,
                                           "files": sorted(files), **detail}))
        with self._lock:
            self._parsed_deployments[deployment.id] = parsed
        log.info("deployed %s as deployment %s (%s)", versions, deployment.id, kind)
        return DeployResult(deployment.id, True, versions)

    def _current(self, digest: str) -> DeployResult | None:
        """The deployment with this content if it holds the newest version of every process it defines."""
        with self.store.read() as connection:
            for deployment_id in connection.scalars(select(Deployment.id).where(Deployment.content_hash == digest)
                                                    .order_by(Deployment.id.desc())):
                own = dict(connection.execute(select(ProcessDefinition.process_id, ProcessDefinition.version)
                                              .where(ProcessDefinition.deployment_id == deployment_id)).all())
                newest = dict(connection.execute(
                    select(ProcessDefinition.process_id, func.max(ProcessDefinition.version))
                    .where(ProcessDefinition.process_id.in_(list(own)))
                    .group_by(ProcessDefinition.process_id)).all())
                if own == newest:
                    return DeployResult(deployment_id, False, own)
        return None

    def latest_id(self, connection, process_id: str) -> int:
        definition_id = connection.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_id == process_id)
                                       .order_by(ProcessDefinition.version.desc()).limit(1))
        if definition_id is None:
            raise NotFound(Message("no process '{process}' is deployed", process=process_id))
        return definition_id

    def load(self, connection, definition_id: int) -> LoadedDefinition:
        """The parsed definition, from the cache or by parsing its deployment's files again."""
        with self._lock:
            cached = self._cache.get(definition_id)
            if cached is not None:
                self._cache.move_to_end(definition_id)
                return cached
        row = connection.execute(select(ProcessDefinition.__table__).where(
            ProcessDefinition.id == definition_id)).one_or_none()
        if row is None:
            raise NotFound(Message("process definition {definition} does not exist", definition=definition_id))
        parsed = self._parsed(connection, row.deployment_id)
        loaded = LoadedDefinition(row.id, row.process_id, row.version, parsed.specs[row.process_id],
                                  parsed.subprocess_specs[row.process_id], parsed.forms)
        with self._lock:
            self._cache[definition_id] = loaded
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return loaded

    def _parsed(self, connection, deployment_id: int) -> ParsedSet:
        with self._lock:
            parsed = self._parsed_deployments.get(deployment_id)
        if parsed is None:
            files = connection.execute(select(Deployment.files).where(Deployment.id == deployment_id)).scalar_one()
            parsed = validate_files({name: text.encode("utf-8") for name, text in files.items()})
            with self._lock:
                self._parsed_deployments[deployment_id] = parsed
                while len(self._parsed_deployments) > self._cache_size:
                    self._parsed_deployments.popitem(last=False)
        return parsed


def _same_process(files: dict[str, str], stored: dict[str, str], process_id: str) -> bool:
    """Whether ``process_id`` reads the same text in ``files`` as in ``stored`` (a deployment's files): its own
    diagram, and every form and decision table of ``files``."""
    try:
        if diagram_file(files, process_id)[1] != diagram_file(stored, process_id)[1]:
            return False
    except NotFound:
        return False
    return all(stored.get(name) == text for name, text in files.items() if not name.endswith(BPMN_SUFFIX))
