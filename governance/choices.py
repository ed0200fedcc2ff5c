from django.db import models


class Ontology(models.TextChoices):
    DUO = "DUO", "Data Use Ontology"
    DOID = "DOID", "Human Disease Ontology"


class DuoKind(models.TextChoices):
    """Where a DUO term sits: a permission (exactly one per scope) or a modifier."""

    PERMISSION = "permission", "Permission"
    MODIFIER = "modifier", "Modifier"
    OTHER = "other", "Other"


class GdprRole(models.TextChoices):
    CONTROLLER = "controller", "Controller"
    JOINT_CONTROLLER = "joint_controller", "Joint controller"
    PROCESSOR = "processor", "Processor"


class Species(models.TextChoices):
    HUMAN = "human", "Human"
    ANIMAL = "animal", "Laboratory animal"


class DatasetStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class Article(models.TextChoices):
    ART6 = "6", "Art. 6(1) lawfulness of processing"
    ART9 = "9", "Art. 9(2) special categories of personal data"


class CommitteeRole(models.TextChoices):
    CHAIR = "chair", "Chair"
    MEMBER = "member", "Member"
    SECRETARY = "secretary", "Secretary"


class DecisionPolicy(models.TextChoices):
    SINGLE_DECIDER = "single", "Single decider (any chair or member)"
    CHAIR_DECIDES = "chair", "Chair decides"
    MAJORITY = "majority", "Majority of votes with a quorum"
    UNANIMITY = "unanimity", "Unanimity of votes with a quorum"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


# GDPR reference data (Regulation (EU) 2016/679). The short titles are the usual headings of
# each point; `needs_law` marks the points that require a Union or Member State law as their
# basis: Art. 6(3) for 6(1)(c) and (e); Art. 9(2)(g)-(j) name that law themselves.
GDPR_ARTICLES: list[tuple[str, str, str, bool]] = [
    ("6", "a", "Consent", False),
    ("6", "b", "Performance of a contract", False),
    ("6", "c", "Legal obligation", True),
    ("6", "d", "Vital interests", False),
    ("6", "e", "Public interest or official authority", True),
    ("6", "f", "Legitimate interests", False),
    ("9", "a", "Explicit consent", False),
    ("9", "b", "Employment, social security and social protection law", False),
    ("9", "c", "Vital interests of a person incapable of giving consent", False),
    (
        "9",
        "d",
        "Not-for-profit body with a political, philosophical, religious or trade union aim",
        False,
    ),
    ("9", "e", "Data manifestly made public by the data subject", False),
    ("9", "f", "Legal claims or judicial acts", False),
    ("9", "g", "Substantial public interest", True),
    ("9", "h", "Preventive or occupational medicine, health or social care", True),
    ("9", "i", "Public interest in the area of public health", True),
    ("9", "j", "Archiving, scientific or historical research, or statistics", True),
]
