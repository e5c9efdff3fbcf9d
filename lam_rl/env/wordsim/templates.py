"""Template documents, like UFO's dataflow templates, each with seeded variations of its content.

| id | what it holds |
|---|---|
| line | one line of text |
| essay | an unstyled title line, a section line and three paragraphs |
| list | a heading, five to seven plain item lines and a closing line |
| table | an introduction, a 3-4 row table and a closing line |
| comments | three paragraphs with comments and tracked changes by reviewers |
| shape | a paragraph and a rectangle shape with text |
| textbox | a paragraph and a text box |
| report | a styled title, Heading 1 sections with paragraphs and a chart |

``build_template(name, seed)`` is deterministic; ``template_fingerprint`` hashes its content (the
task split uses it so a held-out document never appears in training under another seed).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from lam_rl.env.wordsim.document import Cell, Comment, Document, Fmt, Paragraph, Run, Shape, Table


@dataclass(frozen=True)
class Topic:
    title: str
    keyword: str  # appears in several sentences (find and replace)
    sentences: tuple[str, ...]
    items: tuple[str, ...]
    table: tuple[tuple[str, ...], ...]
    sections: tuple[str, ...]
    notes: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "Quarterly Report",
        "revenue",
        (
            "Total revenue grew by twelve percent in the third quarter.",
            "Operating costs remained stable across all regions.",
            "The northern region reported the strongest revenue growth.",
            "Marketing spend was reduced after the summer campaign.",
            "Recurring revenue now makes up half of all sales.",
            "The board approved a new budget for research.",
            "Customer retention improved for the second year in a row.",
        ),
        (
            "Revenue summary",
            "Cost review",
            "Regional highlights",
            "Hiring plan",
            "Risks",
            "Next steps",
            "Appendix",
        ),
        (("Region", "Q2", "Q3"), ("North", "410", "468"), ("South", "388", "402"), ("West", "295", "331")),
        ("Overview", "Financial Results", "Outlook"),
        ("Please check these figures.", "Can we add last year for comparison?", "Source needed here."),
    ),
    Topic(
        "Project Plan",
        "milestone",
        (
            "The first milestone is a working prototype by March.",
            "Each team lead owns one work stream.",
            "Testing starts two weeks before the second milestone.",
            "The design review is scheduled for early April.",
            "A final milestone closes the project in June.",
            "Weekly status meetings keep everyone informed.",
            "Risks are tracked in a shared register.",
        ),
        (
            "Kickoff meeting",
            "Requirements",
            "Prototype",
            "User testing",
            "Launch",
            "Retrospective",
            "Handover",
        ),
        (
            ("Phase", "Owner", "Due"),
            ("Design", "Maria", "March 3"),
            ("Build", "Tom", "April 20"),
            ("Test", "Priya", "May 15"),
        ),
        ("Scope", "Schedule", "Resources"),
        ("Is this date realistic?", "Add the budget owner.", "Who signs off on this?"),
    ),
    Topic(
        "Team Meeting Notes",
        "deadline",
        (
            "The team agreed to move the deadline to Friday.",
            "Sarah will share the updated slides tomorrow.",
            "Nobody raised concerns about the new deadline.",
            "The office will be closed next Monday.",
            "Action items are listed at the end of these notes.",
            "The next meeting takes place in room four.",
            "Feedback on the survey is due before the deadline.",
        ),
        ("Welcome", "Updates", "Budget", "Open questions", "Action items", "Any other business"),
        (
            ("Task", "Owner", "Status"),
            ("Slides", "Sarah", "Open"),
            ("Survey", "Ken", "Done"),
            ("Booking", "Lena", "Open"),
        ),
        ("Attendees", "Discussion", "Decisions"),
        ("Confirm the room.", "Add the dial-in number.", "Please clarify this item."),
    ),
    Topic(
        "Travel Itinerary",
        "hotel",
        (
            "The flight leaves Seattle at nine in the morning.",
            "A shuttle takes the group from the airport to the hotel.",
            "Dinner is booked at a harbour restaurant on Tuesday.",
            "The hotel offers breakfast from six until ten.",
            "Wednesday is free for sightseeing in the old town.",
            "Please keep all receipts for the expense report.",
            "Checkout from the hotel is at noon on Friday.",
        ),
        (
            "Passport",
            "Tickets",
            "Chargers",
            "Rain jacket",
            "Walking shoes",
            "Travel insurance",
            "Local currency",
        ),
        (
            ("Day", "City", "Activity"),
            ("Monday", "Seattle", "Flight"),
            ("Tuesday", "Lisbon", "Workshop"),
            ("Wednesday", "Lisbon", "Tour"),
        ),
        ("Flights", "Accommodation", "Schedule"),
        ("Is breakfast included?", "Book a later flight.", "Check visa rules."),
    ),
    Topic(
        "Product Launch",
        "launch",
        (
            "The launch event will be streamed online.",
            "Early customers receive a discount code.",
            "Press material is ready one week before launch.",
            "The sales team has finished its product training.",
            "Social media posts start on the day of the launch.",
            "Support staff will work extended hours.",
            "A follow-up survey measures customer satisfaction.",
        ),
        ("Press release", "Demo video", "Pricing page", "Partner email", "Support guide", "Launch party"),
        (
            ("Channel", "Budget", "Owner"),
            ("Online ads", "12000", "Ana"),
            ("Events", "8000", "Raj"),
            ("Print", "3000", "Mia"),
        ),
        ("Goals", "Audience", "Timeline"),
        ("Align with the pricing team.", "Is the date confirmed?", "Add the partner logos."),
    ),
    Topic(
        "Annual Review",
        "goal",
        (
            "This year every department met its main goal.",
            "The new office opened in September.",
            "Employee satisfaction rose to its highest level.",
            "Next year we set a goal of doubling online sales.",
            "Two new products reached the market.",
            "Energy use fell by eight percent.",
            "Each goal is reviewed again in the spring.",
        ),
        ("Highlights", "People", "Customers", "Sustainability", "Finance", "Outlook"),
        (
            ("Area", "Target", "Result"),
            ("Sales", "5.0M", "5.4M"),
            ("Hiring", "40", "37"),
            ("Energy", "-5%", "-8%"),
        ),
        ("Summary", "Achievements", "Priorities"),
        ("Great result!", "Add a chart here.", "Check the hiring numbers."),
    ),
    Topic(
        "Research Summary",
        "sample",
        (
            "The sample included two hundred participants over one year.",
            "Each sample was tested twice in the laboratory.",
            "Results suggest a link between sleep and memory.",
            "A larger sample is needed to confirm the effect.",
            "The method is described in the appendix.",
            "Funding came from a public research grant.",
            "All data will be published after review.",
        ),
        ("Background", "Method", "Participants", "Results", "Limitations", "References"),
        (
            ("Group", "Size", "Score"),
            ("Control", "100", "71"),
            ("Treatment", "100", "78"),
            ("Pilot", "20", "74"),
        ),
        ("Introduction", "Methods", "Findings"),
        ("Cite the original study.", "Is this significant?", "Define the score."),
    ),
    Topic(
        "Safety Guidelines",
        "helmet",
        (
            "Visitors must wear a helmet on the factory floor.",
            "Emergency exits are marked with green signs.",
            "Report every incident to the shift supervisor.",
            "A spare helmet is available at the reception desk.",
            "Fire drills take place twice a year.",
            "Check your helmet for cracks before each shift.",
            "First aid kits are checked every month.",
        ),
        ("Helmet", "Safety glasses", "Gloves", "Ear protection", "Steel-toe boots", "High-visibility vest"),
        (
            ("Area", "Risk", "Rule"),
            ("Warehouse", "Forklifts", "Stay in lanes"),
            ("Lab", "Chemicals", "Wear gloves"),
            ("Yard", "Traffic", "Wear a vest"),
        ),
        ("Purpose", "Rules", "Emergencies"),
        ("Add the hotline number.", "Is this still current?", "Translate for visitors."),
    ),
    Topic(
        "Recipe Collection",
        "oven",
        (
            "Preheat the oven to two hundred degrees.",
            "Mix the flour and sugar in a large bowl.",
            "Add the eggs one at a time while stirring.",
            "Bake the cake in the oven for forty minutes.",
            "Let it cool before adding the icing.",
            "Serve with fresh berries and cream.",
            "Turn off the oven once the cake is golden.",
        ),
        ("Flour", "Sugar", "Eggs", "Butter", "Baking powder", "Vanilla", "Milk"),
        (
            ("Ingredient", "Amount", "Note"),
            ("Flour", "250 g", "Sifted"),
            ("Sugar", "200 g", "Fine"),
            ("Butter", "125 g", "Soft"),
        ),
        ("Ingredients", "Preparation", "Serving"),
        ("Try less sugar.", "Add a gluten-free option.", "Oven times vary."),
    ),
    Topic(
        "Onboarding Guide",
        "laptop",
        (
            "New staff receive a laptop on their first day.",
            "The welcome session starts at nine in the lobby.",
            "Your manager will introduce you to the team.",
            "Install the security updates before using the laptop.",
            "Training videos are available on the intranet.",
            "Lunch is provided during the first week.",
            "Ask the help desk if the laptop does not start.",
        ),
        ("Badge", "Laptop", "Email account", "Payroll form", "Team lunch", "Mentor meeting"),
        (
            ("Day", "Session", "Host"),
            ("Monday", "Welcome", "HR"),
            ("Tuesday", "Systems", "IT"),
            ("Wednesday", "Product", "Sales"),
        ),
        ("Welcome", "First Week", "Resources"),
        ("Add the Wi-Fi details.", "Link the handbook.", "Who is the mentor?"),
    ),
    Topic(
        "Marketing Strategy",
        "campaign",
        (
            "The spring campaign targets young professionals.",
            "Video content performed best on every channel.",
            "Each campaign is measured by cost per lead.",
            "The brand guide was updated in January.",
            "Email newsletters go out every second Thursday.",
            "A partner campaign is planned for the autumn.",
            "Website traffic doubled after the redesign.",
        ),
        ("Brand", "Website", "Email", "Social media", "Events", "Partners", "Analytics"),
        (
            ("Campaign", "Leads", "Cost"),
            ("Spring", "1200", "9.50"),
            ("Summer", "950", "11.20"),
            ("Autumn", "1400", "8.70"),
        ),
        ("Market", "Channels", "Budget"),
        ("Which audience is this?", "Add the cost figures.", "Great idea."),
    ),
    Topic(
        "Garden Club Newsletter",
        "seeds",
        (
            "The club meets on the first Saturday of each month.",
            "Members can swap seeds at the spring fair.",
            "Tomatoes did especially well this summer.",
            "Bring your own gloves to the planting day.",
            "New seeds arrive at the shop in February.",
            "The compost heap needs turning every week.",
            "Label your seeds before the swap.",
        ),
        ("Tomatoes", "Beans", "Lettuce", "Sunflowers", "Herbs", "Strawberries"),
        (
            ("Plant", "Sow", "Harvest"),
            ("Tomatoes", "March", "August"),
            ("Beans", "May", "July"),
            ("Lettuce", "April", "June"),
        ),
        ("News", "Events", "Tips"),
        ("Add photos from the fair.", "Confirm the date.", "Thanks to the volunteers."),
    ),
)
REVIEWERS = ("Alice Chen", "Bob Smith", "Carol Diaz", "David Kim", "Emma Novak", "Farid Haddad")
TEMPLATES = ("line", "essay", "list", "table", "comments", "shape", "textbox", "report")


class _Builder:
    def __init__(self) -> None:
        self.doc = Document()

    def para(self, text: str, style: str = "Normal", runs: list[Run] | None = None) -> Paragraph:
        p = Paragraph(
            runs if runs is not None else ([Run(text)] if text else []), style, pid=self.doc.new_id()
        )
        self.doc.blocks.append(p)
        return p


def blank_document() -> Document:
    b = _Builder()
    b.para("")
    return b.doc


def build_template(name: str, seed: int) -> Document:
    """The template document ``name`` with content varied by ``seed`` (deterministic)."""
    if name not in TEMPLATES:
        raise KeyError(f"unknown template {name!r}; templates: {', '.join(TEMPLATES)}")
    rng = random.Random(f"{name}:{seed}")
    topic = TOPICS[rng.randrange(len(TOPICS))]
    b = _Builder()
    sents = list(topic.sentences)
    rng.shuffle(sents)
    getattr(_Templates, name)(b, topic, sents, rng)
    return b.doc


class _Templates:
    @staticmethod
    def line(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        b.para(" ".join(s[:2]))

    @staticmethod
    def essay(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        b.para(t.title)
        keyed = [x for x in t.sentences if t.keyword in x.lower()]
        others = [x for x in s if x not in keyed]
        b.para(" ".join([keyed[0], others[0]]))
        b.para(rng.choice(t.sections))
        b.para(" ".join([others[1], keyed[1], others[2]]))
        b.para(" ".join(others[3:5] + keyed[2:3]))

    @staticmethod
    def list(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        b.para(f"{t.title}: checklist", "Heading 1")
        n = rng.randint(5, min(7, len(t.items)))
        items = list(t.items)
        rng.shuffle(items)
        for item in items[:n]:
            b.para(item)
        b.para(s[0])

    @staticmethod
    def table(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        b.para(s[0])
        rows = [list(t.table[0])] + [list(r) for r in t.table[1:]]
        body = rows[1:]
        rng.shuffle(body)
        rows = [rows[0]] + body[: rng.randint(2, 3)]
        b.doc.blocks.append(Table([[Cell(x) for x in r] for r in rows], tid=b.doc.new_id()))
        b.para(s[1])

    @staticmethod
    def comments(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        authors = rng.sample(REVIEWERS, 2)
        ps = [b.para(" ".join(s[i * 2 : i * 2 + 2])) for i in range(3)]
        for k, p in enumerate(ps[:2]):
            words = p.text.split(" ")
            j = rng.randrange(0, max(1, len(words) - 2))
            start = len(" ".join(words[:j])) + (1 if j else 0)
            end = start + len(" ".join(words[j : j + 2]))
            b.doc.comments.append(Comment(b.doc.new_id(), authors[k % 2], t.notes[k], p.pid, start, end))
        # tracked changes by the reviewer: an insertion and a deletion in the last paragraph
        p = ps[2]
        text = p.text
        cut = text.find(" ", len(text) // 2)
        ins = f"ins:{authors[0]}"
        p.runs = [Run(text[:cut]), Run(" indeed", PLAIN_FMT, ins), Run(text[cut:])]
        first = ps[0]
        w = first.text.split(" ")
        if len(w) > 3:
            a = len(" ".join(w[:2])) + 1
            bnd = a + len(w[2]) + 1
            ft = first.text
            first.runs = [Run(ft[:a]), Run(ft[a:bnd], PLAIN_FMT, f"del:{authors[1]}"), Run(ft[bnd:])]

    @staticmethod
    def shape(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        b.para(s[0])
        b.para(s[1])
        label = rng.choice(t.sections)
        fill = rng.choice(("Blue, Accent 1", "Orange", "Green", "Gray"))
        b.doc.shapes.append(
            Shape(
                b.doc.new_id(), "rectangle", "Rectangle 1", label, fill, "Dark Blue", box=(80, 200, 340, 300)
            )
        )

    @staticmethod
    def textbox(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        b.para(s[0])
        b.para(s[1])
        quote = rng.choice(t.sentences[2:])
        b.doc.shapes.append(
            Shape(
                b.doc.new_id(),
                "text_box",
                "Text Box 1",
                quote,
                "White",
                "Dark Blue",
                box=(420, 220, 740, 320),
            )
        )

    @staticmethod
    def report(b: _Builder, t: Topic, s: list[str], rng: random.Random) -> None:
        b.para(t.title, "Title")
        secs = list(t.sections)
        for k, sec in enumerate(secs):
            b.para(sec, "Heading 1")
            b.para(" ".join(s[k * 2 : k * 2 + 2]))
        chart_title = f"{t.table[0][0]} by {t.table[0][1]}"
        b.doc.shapes.append(
            Shape(b.doc.new_id(), "chart", "Chart 1", chart_title, "White", "Gray", box=(420, 360, 740, 520))
        )


PLAIN_FMT = Fmt()


def template_fingerprint(doc: Document) -> str:
    """A short stable hash of a template document's content (text, tables, shapes, comments)."""
    h = hashlib.sha256()
    h.update(doc.text(final=False).encode())
    for sh in doc.shapes:
        h.update(f"|{sh.kind}:{sh.name}:{sh.text}:{sh.fill}".encode())
    for c in doc.comments:
        h.update(f"|{c.author}:{c.text}".encode())
    return h.hexdigest()[:16]
