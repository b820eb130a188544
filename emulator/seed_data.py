"""Word lists for the demo bases (realistic names, no real people or companies)."""

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Ethan", "Harper", "Aiden", "Evelyn", "Oliver", "Chloe", "Leo",
    "Priya", "Arjun", "Mei", "Hiroshi", "Fatima", "Omar", "Lena", "Jonas", "Chiara", "Marco",
    "Zoe", "Samuel", "Nora", "Daniel", "Grace", "Gabriel", "Ines", "Tomas", "Aisha", "Kwame",
    "Sara", "Felix", "Ingrid", "Mikael", "Camila", "Diego", "Hannah", "Ryan", "Yara", "Kenji",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Martinez", "Brown", "Davis", "Lopez", "Wilson", "Anderson",
    "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Adams",
    "Baker", "Nelson", "Mitchell", "Campbell", "Roberts", "Carter", "Phillips", "Evans",
    "Turner", "Torres", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Bell", "Kelly", "Howard",
    "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James",
    "Reyes", "Hughes", "Price", "Myers", "Long", "Foster", "Sanders", "Ross", "Morales",
    "Powell", "Sullivan", "Russell", "Ortiz", "Jenkins", "Perry", "Butler", "Barnes",
    "Fischer", "Müller", "Rossi", "Dubois", "Novak", "Tanaka", "Sato", "Kowalski", "Haddad",
)  # fmt: skip
COMPANY_ROOTS = (
    "Northwind", "Bluepeak", "Crestline", "Ironbridge", "Silverleaf", "Brightwater", "Redwood",
    "Summit", "Harbor", "Evergreen", "Keystone", "Lumen", "Granite", "Oakridge", "Pinnacle",
    "Riverstone", "Sterling", "Trailhead", "Vantage", "Westbrook", "Aurora", "Beacon",
    "Cobalt", "Driftwood", "Elm Street", "Foxglove", "Goldfield", "Highland", "Juniper",
    "Kestrel", "Lakeside", "Meridian", "Nimbus", "Orchard", "Polaris", "Quarry", "Ridgeway",
    "Sable", "Tidewater", "Union Square", "Verdant", "Willow", "Zenith", "Copperline",
)  # fmt: skip
COMPANY_KINDS = {
    "Software": ("Software", "Analytics", "Cloud", "Labs", "Systems"),
    "Manufacturing": ("Manufacturing", "Industries", "Fabrication", "Components"),
    "Healthcare": ("Health", "Clinics", "Medical", "Care"),
    "Retail": ("Outfitters", "Market", "Goods", "Stores"),
    "Finance": ("Capital", "Financial", "Partners", "Advisors"),
    "Logistics": ("Logistics", "Freight", "Shipping"),
    "Education": ("Learning", "Academy", "Education"),
    "Energy": ("Energy", "Solar", "Power"),
    "Media": ("Media", "Studios", "Publishing"),
    "Hospitality": ("Hotels", "Hospitality", "Restaurants"),
}
COMPANY_SUFFIXES = ("Inc.", "LLC", "Ltd", "Group", "Co.", "GmbH", "")
COUNTRIES = (
    "United States", "Canada", "United Kingdom", "Germany", "France", "Netherlands", "Spain",
    "Italy", "Brazil", "Japan", "Australia", "India",
)  # fmt: skip
JOB_TITLES = (
    "CEO", "CTO", "CFO", "VP Sales", "VP Engineering", "Head of Operations", "Procurement Manager",
    "IT Director", "Marketing Director", "Product Manager", "Office Manager", "Founder",
    "Operations Analyst", "Finance Manager", "Engineering Manager",
)  # fmt: skip
LEAD_SOURCES = ("Website", "Referral", "Event", "Cold Outreach", "Partner", "LinkedIn")
DEAL_PRODUCTS = (
    "Platform license", "Annual renewal", "Onboarding package", "Premium support",
    "Data migration", "Team expansion", "Analytics add-on", "Pilot project", "Training",
    "Integration services", "Enterprise upgrade", "Security audit",
)  # fmt: skip
SALESPEOPLE = ("Maya Patel", "Liam O'Connor", "Sofia Rossi", "Noah Kim", "Emma Schmidt",
               "Lucas Silva")  # fmt: skip
DEAL_STAGES = ("Lead", "Qualified", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
STAGE_PROBABILITY = {"Lead": 0.1, "Qualified": 0.25, "Proposal": 0.5, "Negotiation": 0.75,
                     "Closed Won": 1.0, "Closed Lost": 0.0}  # fmt: skip

PROJECT_NAMES = (
    "Website Redesign", "Mobile App v2", "Customer Portal", "Data Warehouse Migration",
    "Q3 Marketing Campaign", "Onboarding Revamp", "Billing System Upgrade", "Partner API",
    "Security Compliance (SOC 2)", "Internal Wiki", "Support Chatbot", "Pricing Page Refresh",
    "Warehouse Scanner Rollout", "CRM Cleanup", "Annual Conference", "Brand Guidelines",
    "Payroll Integration", "Search Improvements", "Accessibility Audit", "Analytics Dashboard",
    "Office Move", "Hiring Pipeline", "Localization (DE/FR)", "Performance Tuning",
    "Email Deliverability", "Product Tour", "Design System", "Checkout Optimization",
    "Vendor Consolidation", "Disaster Recovery Drill", "Customer Success Playbook",
    "Sales Enablement Kit", "IoT Pilot", "Cost Reduction Review", "Social Media Calendar",
    "Knowledge Base Launch", "Mobile Push Notifications", "SSO Rollout", "Quarterly Planning",
    "Holiday Campaign",
)  # fmt: skip
PROJECT_STATUSES = ("Planning", "Active", "On Hold", "Completed")
ASSIGNEES = ("Ana", "Ben", "Carla", "David", "Elif", "Farah", "George", "Hana", "Ivan", "Julia")
TASK_STATUSES = ("Todo", "In Progress", "Blocked", "Done")
PRIORITIES = ("Low", "Medium", "High", "Urgent")
TAGS = ("Frontend", "Backend", "Design", "QA", "Docs", "Infra", "Research", "Customer")
TASK_VERBS = (
    "Draft", "Review", "Update", "Design", "Implement", "Test", "Document", "Plan", "Migrate",
    "Fix", "Refactor", "Prepare", "Analyze", "Deploy", "Schedule", "Audit", "Write", "Set up",
)  # fmt: skip
TASK_OBJECTS = (
    "landing page copy", "login flow", "API rate limiter", "invoice template",
    "onboarding email", "release notes", "database indexes", "error dashboard", "user survey",
    "pricing table", "mobile navigation", "search results page", "backup job",
    "permissions model", "style guide", "checkout form", "CSV export", "webhook handler",
    "support macros", "QA checklist", "sprint retro notes", "vendor contract", "demo script",
    "analytics events", "cache layer", "accessibility fixes", "translation strings",
    "status page", "load test plan", "customer interviews",
)  # fmt: skip
TASK_NOTES = (
    "Waiting on feedback from the design team.",
    "See the spec in the shared drive.",
    "Blocked by the API change; follow up on Monday.",
    "Customer asked for this in the last QBR.",
    "Keep scope small; ship the first version this sprint.",
    "Pair with QA before merging.",
)  # fmt: skip

SUPPLIER_ROOTS = (
    "Apex", "Pacific", "Nordic", "Atlas", "Prime", "Global", "Continental", "Eastern",
    "Sunrise", "Delta", "Titan", "Horizon", "Cascade", "Metro", "Liberty",
)  # fmt: skip
SUPPLIER_KINDS = ("Supply Co.", "Components Ltd", "Wholesale", "Trading", "Distribution",
                  "Manufacturing")  # fmt: skip
PRODUCT_CATALOG = {
    "Kitchen": ("Chef's Knife", "Cutting Board", "Cast Iron Skillet", "French Press",
                "Mixing Bowl Set", "Spice Rack", "Water Bottle"),
    "Office": ("Ergonomic Chair", "Standing Desk", "Desk Lamp", "Notebook", "Gel Pen Pack",
               "Monitor Arm", "Cable Organizer"),
    "Electronics": ("Wireless Mouse", "Mechanical Keyboard", "USB-C Hub", "Bluetooth Speaker",
                    "Noise-Cancelling Headphones", "Power Bank", "Webcam"),
    "Outdoor": ("Camping Tent", "Sleeping Bag", "Hiking Backpack", "Trekking Poles",
                "Headlamp", "Camp Stove", "Rain Jacket"),
    "Home": ("Throw Blanket", "Scented Candle", "Wall Clock", "Plant Pot", "Bath Towel Set",
             "Table Lamp", "Storage Basket"),
    "Fitness": ("Yoga Mat", "Dumbbell Set", "Resistance Bands", "Jump Rope", "Foam Roller",
                "Kettlebell", "Gym Bag"),
}  # fmt: skip
PRODUCT_VARIANTS = ("Classic", "Pro", "Mini", "XL", "Eco", "Deluxe", "Lite", "Plus")
ORDER_STATUSES = ("Pending", "Shipped", "Delivered", "Cancelled")
