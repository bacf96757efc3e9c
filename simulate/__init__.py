"""`lotse simulate`: the federal model project (18 municipalities, 87 centres, more than
4,000 agreements from April 2011 for 18 months) played through Lotse's real logic, with a
seeded behaviour model of clients, counsellors and partners (docs/model-project.md)."""
