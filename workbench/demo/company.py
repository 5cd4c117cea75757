"""The demo company's fixed facts: its calendar, industries, name parts, reps and competitors
(everything :mod:`.simulate` draws from besides the seed)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..config import Quarter

FIRST_QUARTER = Quarter(2023, 4)
N_QUARTERS = 12  # history 2023Q4..2026Q3
AS_OF = dt.date(2026, 9, 30)
_NQ = N_QUARTERS + 2  # two decision quarters after the as-of date feed the open pipeline
_QUARTERS = [FIRST_QUARTER + k for k in range(_NQ + 1)]
_QS = np.array([(q.start - dt.date(1970, 1, 1)).days for q in _QUARTERS])  # quarter starts
_AS_OF = (AS_OF - dt.date(1970, 1, 1)).days
_SEASON = {1: 0.80, 2: 1.00, 3: 0.95, 4: 1.25}
_GROWTH = 0.05

# name, share, median employees, spend factor, win shift, rural tilt, company-name nouns
_INDUSTRIES = (
    (
        "Manufacturing",
        0.18,
        60,
        1.3,
        0.10,
        0.0,
        ("Manufacturing", "Machine Works", "Fabrication", "Plastics", "Metals"),
    ),
    (
        "Healthcare",
        0.14,
        45,
        1.1,
        -0.10,
        -0.3,
        ("Medical Group", "Health Partners", "Family Clinic", "Dental Care", "Home Health"),
    ),
    (
        "Retail",
        0.16,
        25,
        0.7,
        0.00,
        0.0,
        ("Outfitters", "Market", "Home Goods", "Hardware", "Supply"),
    ),
    (
        "Construction",
        0.12,
        20,
        0.9,
        0.20,
        0.2,
        ("Builders", "Contracting", "Roofing", "Paving", "Electric"),
    ),
    (
        "Logistics",
        0.10,
        35,
        1.2,
        0.00,
        0.1,
        ("Freight", "Logistics", "Transport", "Warehousing", "Trucking"),
    ),
    (
        "Professional Services",
        0.14,
        15,
        1.0,
        0.25,
        -0.6,
        ("Consulting", "Advisors", "Accounting", "Law Group", "Engineering"),
    ),
    (
        "Agriculture",
        0.08,
        12,
        0.8,
        -0.20,
        1.5,
        ("Farms", "Agri Supply", "Pecan Company", "Poultry", "Feed & Seed"),
    ),
    (
        "Education & Public",
        0.08,
        80,
        0.9,
        -0.40,
        0.0,
        ("Academy", "Learning Center", "Public Services", "Water Authority", "Library"),
    ),
)
_PREFIXES = (
    "Peachtree",
    "Magnolia",
    "Piedmont",
    "Chattahoochee",
    "Oconee",
    "Altamaha",
    "Red Clay",
    "Live Oak",
    "Blue Ridge",
    "Ogeechee",
    "Pinewood",
    "Cotton Creek",
    "Harbor",
    "Summit",
    "Riverbend",
    "Southern",
    "Tallulah",
    "Satilla",
    "Flint River",
    "Coastal",
    "Sandhill",
    "Etowah",
    "Hickory",
    "Dogwood",
    "Cypress",
    "Lakeside",
    "Heritage",
    "Pioneer",
    "Crescent",
    "Northgate",
    "Stonebridge",
    "Willow",
    "Cedar Hill",
    "Bright Star",
    "Ironwood",
    "Longleaf",
)
_SUFFIXES = ("", " LLC", " Inc.", " Co.", " Group")
_PRODUCTS = ("Core Platform", "Subscription Renewal", "Analytics Add-on", "Services", "Training")
_KINDS = ("new_business", "renewal", "expansion")
# home county and town, first and last active quarter index (0 = 2023Q4; None = open-ended)
_REPS = (
    ("13121", "Atlanta", None, None),
    ("13089", "Decatur", None, None),
    ("13067", "Marietta", None, None),
    ("13135", "Lawrenceville", None, None),
    ("13051", "Savannah", None, None),
    ("13245", "Augusta", None, None),
    ("13021", "Macon", None, None),
    ("13215", "Columbus", None, None),
    ("13095", "Albany", None, None),
    ("13059", "Athens", None, None),
    ("13185", "Valdosta", None, None),
    ("13139", "Gainesville", 5, None),
    ("13115", "Rome", None, 2),
    ("13127", "Brunswick", None, 6),
)
_FIRST_NAMES = [
    "Avery",
    "Jordan",
    "Morgan",
    "Casey",
    "Taylor",
    "Riley",
    "Quinn",
    "Parker",
    "Reese",
    "Dana",
    "Jamie",
    "Shawn",
    "Robin",
    "Leslie",
    "Cameron",
    "Drew",
    "Kendall",
    "Logan",
]
_LAST_NAMES = [
    "Whitfield",
    "Okafor",
    "Delgado",
    "Brannon",
    "Castellanos",
    "Pruitt",
    "Nakamura",
    "Holloway",
    "Abernathy",
    "Tran",
    "McBride",
    "Oyelaran",
    "Sutton",
    "Varga",
    "Ellison",
    "Kimbrough",
]
# name, base presence, urban weight, home county, home reach, reach scale (km)
_COMPETITORS = (
    ("Keystone Dynamics", 0.10, 0.55, None, 0.0, 1.0),
    ("BrightPath Partners", 0.05, 0.20, "13121", 0.55, 90.0),
    ("Southline Systems", 0.05, 0.15, "13051", 0.50, 140.0),
    ("Oakmont Supply Co.", 0.20, -0.10, "13277", 0.35, 160.0),
)
