"""A synthetic company, deterministic from a seed, that every emulator serves.

The tree looks like a real one: a CEO, a VP per division, directors, managers and individual
contributors with spans of five to eight, departments under divisions, a few terminations.
Every emulator (BambooHR, Workday, and later Salesforce, Jira, GA4) serves the same people, so
a person's Salesforce user id in the HCM is the owner of their opportunities in Salesforce.

Tests change the org between syncs with `mutate`, `terminate`, `rehire` and `update`; every
change stamps `last_changed`, which the BambooHR changed-since endpoint reads.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

FIRST_NAMES = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Anders",
    "Aria",
    "Ben",
    "Bilal",
    "Carmen",
    "Chen",
    "Chloe",
    "Dara",
    "David",
    "Diego",
    "Elena",
    "Emeka",
    "Eva",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Isaac",
    "Jade",
    "Jamal",
    "Jin",
    "Julia",
    "Kai",
    "Kofi",
    "Lara",
    "Leo",
    "Lina",
    "Luca",
    "Maya",
    "Mei",
    "Mia",
    "Nadia",
    "Noah",
    "Nora",
    "Omar",
    "Oscar",
    "Priya",
    "Rafael",
    "Ravi",
    "Rosa",
    "Sami",
    "Sara",
    "Sofia",
    "Tariq",
    "Theo",
    "Uma",
    "Vera",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Abbott",
    "Adeyemi",
    "Alvarez",
    "Bauer",
    "Becker",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Gupta",
    "Haddad",
    "Hansen",
    "Ibrahim",
    "Ito",
    "Jensen",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Nakamura",
    "Nguyen",
    "Novak",
    "O'Brien",
    "Okafor",
    "Patel",
    "Perez",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Tanaka",
    "Torres",
    "Van",
    "Dijk",
    "Wagner",
    "Wang",
    "Weber",
    "Williams",
    "Xu",
    "Yilmaz",
    "Zhang",
]
DIVISIONS = {
    "Sales": ("Enterprise Sales", "Mid-Market Sales", "Sales Operations", "Customer Success"),
    "Engineering": ("Platform", "Product Engineering", "Infrastructure", "Data", "Security"),
    "Marketing": ("Growth Marketing", "Brand", "Product Marketing"),
    "Operations": ("Finance", "Legal", "IT"),
    "People": ("Talent Acquisition", "People Partners", "Learning"),
    "Product": ("Product Management", "Design", "Research"),
}
LOCATIONS = ("London", "New York", "Berlin", "Singapore", "Remote - US", "Remote - EU", "Toronto", "Sydney")
TITLES = {
    "Sales": "Account Executive",
    "Engineering": "Software Engineer",
    "Marketing": "Marketing Specialist",
    "Operations": "Analyst",
    "People": "People Specialist",
    "Product": "Product Designer",
}
COMPANY_DOMAIN = "acme.example"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Employee:
    """One synthetic person with every field any emulator needs."""

    employee_id: str
    first_name: str
    last_name: str
    email: str
    title: str
    division: str
    department: str
    department_key: str
    cost_centre: str
    location: str
    job_level: str
    manager_id: str | None
    hire_date: date
    termination_date: date | None
    status: str  # "Active" | "Inactive"
    employment_status: str  # "Full-Time" | "Part-Time" | "Contractor" | "Terminated"
    salesforce_user_id: str
    jira_account_id: str
    workday_id: str  # a 32-hex Workday WID
    last_changed: datetime

    @property
    def display_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def is_active(self) -> bool:
        """Whether the HCM lists this person as active."""
        return self.status == "Active"


@dataclass(slots=True)
class Department:
    """A department (Workday: a supervisory organization)."""

    key: str
    name: str
    division: str
    parent_key: str | None
    cost_centre: str
    manager_id: str | None
    workday_id: str


def _wid(*parts: object) -> str:
    return hashlib.md5("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _salesforce_id(number: int) -> str:
    return f"005{number:012d}AAA"[:18]


@dataclass
class SyntheticOrg:
    """The company: people by employee id, departments by key, and a log of deletions."""

    seed: int
    employees: dict[str, Employee] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    deleted: dict[str, datetime] = field(default_factory=dict)
    clock: datetime = EPOCH
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    # --- reading -------------------------------------------------------------------------------
    def active(self) -> list[Employee]:
        """Active employees in id order."""
        with self.lock:
            return [e for e in self.employees.values() if e.is_active]

    def get(self, employee_id: str) -> Employee:
        """One employee; KeyError if unknown."""
        return self.employees[employee_id]

    def changed_since(self, since: datetime) -> Iterator[tuple[str, str, datetime]]:
        """(employee id, action, when) for every change after `since`: Inserted, Updated or Deleted."""
        with self.lock:
            for emp in self.employees.values():
                if emp.last_changed > since:
                    action = (
                        "Inserted"
                        if datetime.combine(emp.hire_date, datetime.min.time(), UTC) > since
                        else "Updated"
                    )
                    yield emp.employee_id, action, emp.last_changed
            for employee_id, when in self.deleted.items():
                if when > since:
                    yield employee_id, "Deleted", when

    def direct_reports(self, manager_id: str) -> list[Employee]:
        """People whose manager is `manager_id`."""
        with self.lock:
            return [e for e in self.employees.values() if e.manager_id == manager_id]

    # --- changing ------------------------------------------------------------------------------
    def tick(self) -> datetime:
        """Advance the org's clock by a second and return it (every change gets a distinct stamp)."""
        with self.lock:
            self.clock = max(self.clock + timedelta(seconds=1), datetime.now(UTC).replace(microsecond=0))
            return self.clock

    def update(self, employee_id: str, **changes: object) -> Employee:
        """Change fields of one employee and stamp it as changed."""
        with self.lock:
            emp = replace(self.employees[employee_id], **changes)  # type: ignore[arg-type]
            emp.last_changed = self.tick()
            self.employees[employee_id] = emp
            return emp

    def terminate(self, employee_id: str, when: date | None = None) -> Employee:
        """Terminate one employee (they stay in the HCM as Inactive)."""
        return self.update(
            employee_id,
            status="Inactive",
            employment_status="Terminated",
            termination_date=when or self.clock.date(),
        )

    def rehire(self, employee_id: str, when: date | None = None) -> Employee:
        """Bring a terminated employee back, keeping their employee id."""
        return self.update(
            employee_id,
            status="Active",
            employment_status="Full-Time",
            termination_date=None,
            hire_date=when or self.clock.date(),
        )

    def delete(self, employee_id: str) -> None:
        """Remove an employee from the HCM entirely (a data-entry mistake undone)."""
        with self.lock:
            del self.employees[employee_id]
            self.deleted[employee_id] = self.tick()

    def hire(self, manager_id: str, *, title: str = "New Hire") -> Employee:
        """Add a new active employee reporting to `manager_id`."""
        with self.lock:
            manager = self.employees[manager_id]
            number = max(int(e) for e in self.employees) + 1
            emp = _make_employee(
                self._rng,
                number,
                manager.division,
                self.departments[manager.department_key],
                manager_id,
                "IC2",
                title,
            )
            emp.hire_date = self.clock.date()
            emp.last_changed = self.tick()
            self.employees[emp.employee_id] = emp
            return emp

    def mutate(self, change_ratio: float, *, seed: int | None = None) -> list[str]:
        """Change the title, location or cost centre of a share of the active people; return their ids."""
        rng = random.Random(self.seed * 7919 + (seed if seed is not None else int(self.clock.timestamp())))
        with self.lock:
            active = [e.employee_id for e in self.employees.values() if e.is_active]
            count = max(1, round(len(active) * change_ratio)) if active else 0
            chosen = sorted(rng.sample(active, count), key=int)
            for employee_id in chosen:
                emp = self.employees[employee_id]
                which = rng.randrange(3)
                if which == 0:
                    self.update(
                        employee_id,
                        title=f"Senior {emp.title}" if not emp.title.startswith("Senior") else emp.title[7:],
                    )
                elif which == 1:
                    self.update(
                        employee_id, location=rng.choice([loc for loc in LOCATIONS if loc != emp.location])
                    )
                else:
                    self.update(
                        employee_id,
                        cost_centre=f"{emp.cost_centre}-X"
                        if not emp.cost_centre.endswith("-X")
                        else emp.cost_centre[:-2],
                    )
            return chosen


def _make_employee(
    rng: random.Random,
    number: int,
    division: str,
    dept: Department,
    manager_id: str | None,
    level: str,
    title: str,
) -> Employee:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
    hired = date(2015, 1, 1) + timedelta(days=rng.randrange(0, 3900))
    return Employee(
        employee_id=str(number),
        first_name=first,
        last_name=last,
        email=f"{local}.{number}@{COMPANY_DOMAIN}",
        title=title,
        division=division,
        department=dept.name,
        department_key=dept.key,
        cost_centre=dept.cost_centre,
        location=rng.choice(LOCATIONS),
        job_level=level,
        manager_id=manager_id,
        hire_date=hired,
        termination_date=None,
        status="Active",
        employment_status=rng.choices(("Full-Time", "Part-Time", "Contractor"), weights=(90, 6, 4))[0],
        salesforce_user_id=_salesforce_id(number),
        jira_account_id=_wid("jira", number)[:24],
        workday_id=_wid("worker", number),
        last_changed=EPOCH,
    )


def generate_org(size: int, *, seed: int = 42, terminated_ratio: float = 0.03) -> SyntheticOrg:
    """A company of `size` people (terminated ones included), the same for the same seed."""
    if size < 1:
        raise ValueError("an org needs at least one person")
    rng = random.Random(seed)
    org = SyntheticOrg(seed=seed, _rng=random.Random(seed + 1))
    number = 1000
    divisions = list(DIVISIONS)
    root = Department("D000", "Executive", "Executive", None, "CC-1000", None, _wid("dept", "D000"))
    org.departments[root.key] = root
    for d_index, division in enumerate(divisions):
        div_key = f"D{(d_index + 1) * 100:03d}"
        org.departments[div_key] = Department(
            div_key,
            division,
            division,
            root.key,
            f"CC-{(d_index + 1) * 1000 + 1000}",
            None,
            _wid("dept", div_key),
        )
        for s_index, name in enumerate(DIVISIONS[division]):
            key = f"D{(d_index + 1) * 100 + s_index + 1:03d}"
            org.departments[key] = Department(
                key,
                name,
                division,
                div_key,
                f"CC-{(d_index + 1) * 1000 + 1000 + (s_index + 1) * 10}",
                None,
                _wid("dept", key),
            )

    def add(division: str, dept: Department, manager: str | None, level: str, title: str) -> Employee:
        nonlocal number
        number += 1
        emp = _make_employee(rng, number, division, dept, manager, level, title)
        org.employees[emp.employee_id] = emp
        return emp

    ceo = add("Executive", root, None, "E1", "Chief Executive Officer")
    root.manager_id = ceo.employee_id
    if size == 1:
        return org
    # Breadth-first: a queue of (manager, depth); each manager gets 5-8 reports until the org is full.
    vps: list[Employee] = []
    for d_index, division in enumerate(divisions):
        if len(org.employees) >= size:
            break
        div_dept = org.departments[f"D{(d_index + 1) * 100:03d}"]
        vp = add(division, div_dept, ceo.employee_id, "E2", f"VP {division}")
        div_dept.manager_id = vp.employee_id
        vps.append(vp)
    queue: list[tuple[Employee, int]] = [(vp, 1) for vp in vps]
    level_names = {1: ("M4", "Director"), 2: ("M3", "Senior Manager")}
    head = 0
    while len(org.employees) < size and head < len(queue):
        manager, depth = queue[head]
        head += 1
        division_key = f"D{(divisions.index(manager.division) + 1) * 100:03d}"
        subs = [d for d in org.departments.values() if d.parent_key == division_key]
        for _ in range(rng.randint(5, 8)):
            remaining = size - len(org.employees)
            if remaining <= 0:
                break
            dept = org.departments[manager.department_key] if depth > 1 else rng.choice(subs)
            # Promote just enough people to managers that the queued managers can hold everyone left.
            capacity = (len(queue) - head) * 6.5
            if capacity < remaining:
                level, word = level_names.get(depth, ("M2", "Manager"))
                emp = add(manager.division, dept, manager.employee_id, level, f"{word}, {dept.name}")
                if depth == 1 and dept.manager_id is None:
                    dept.manager_id = emp.employee_id
                queue.append((emp, depth + 1))
            else:
                add(
                    manager.division,
                    dept,
                    manager.employee_id,
                    rng.choice(("IC2", "IC3", "IC4")),
                    TITLES[manager.division],
                )
    terminations = [e for e in org.employees.values() if e.job_level.startswith("IC")]
    for emp in rng.sample(terminations, min(len(terminations), round(size * terminated_ratio))):
        emp.status = "Inactive"
        emp.employment_status = "Terminated"
        emp.termination_date = emp.hire_date + timedelta(days=rng.randrange(90, 1500))
    return org


def people_rows(org: SyntheticOrg, ids: Iterable[str] | None = None) -> list[Employee]:
    """Employees in id order, all or those named."""
    with org.lock:
        if ids is None:
            return sorted(org.employees.values(), key=lambda e: int(e.employee_id))
        return [org.employees[i] for i in ids if i in org.employees]
