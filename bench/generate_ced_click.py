#!/usr/bin/env python3
"""Writes a CED-like CLICK file: the email CLICK columns of reference/responsys.md §7, every field quoted,
URLs and offer names with commas, doubled quotes and non-ASCII text. Deterministic for a given row count.
Usage: generate_ced_click.py ROWS PATH"""
import random
import sys

COLUMNS = ["EVENT_TYPE_ID", "ACCOUNT_ID", "LIST_ID", "RIID", "CUSTOMER_ID", "EVENT_CAPTURED_DT", "EVENT_STORED_DT",
           "CAMPAIGN_ID", "LAUNCH_ID", "EMAIL_FORMAT", "OFFER_NAME", "OFFER_NUMBER", "OFFER_CATEGORY", "OFFER_URL",
           "USER_AGENT_STRING", "OPERATING_SYSTEM", "BROWSER", "BROWSER_TYPE"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
OFFERS = ['Spring sale, 20% off', 'Free shipping', 'Café ""gift"" card', 'Winter boots', 'Newsletter link',
          'Unsubscribe', 'Größen-Tabelle', 'Loyalty, tier 2']
CATEGORIES = ["promo", "footer", "hero", "nav", ""]
AGENTS = ["Mozilla/5.0 (Win)", "Mozilla/5.0 (iPhone)", "", "Mozilla/5.0 (X11)"]
SYSTEMS = [("Windows", "Chrome", "Desktop"), ("iOS", "Safari", "Mobile"), ("", "", ""), ("Linux", "Firefox", "Desktop")]


def main():
    rows = int(sys.argv[1])
    path = sys.argv[2]
    rng = random.Random(7)
    stamps = []
    for index in range(5000):
        day, hour, minute, second = 1 + index % 28, index % 24, index * 7 % 60, index * 13 % 60
        month = MONTHS[index % 12]
        stamps.append((f"{day:02d}-{month}-2024 {hour:02d}:{minute:02d}:{second:02d}",
                       f"{day:02d}-{month.upper()}-2024 {hour:02d}:{minute:02d}:{(second + 31) % 60:02d}"))
    urls = [f"https://ex.com/c/{rng.randrange(10**6)}?u=rs,{i}"
            for i in range(997)]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(f'"{c}"' for c in COLUMNS) + "\r\n")
        batch = []
        for index in range(rows):
            captured, stored = stamps[index % 5000]
            agent = index % 4
            system = SYSTEMS[agent]
            batch.append(
                f'"2","1234","{55500 + index % 7}","{70000000 + index}","c{index:08d}","{captured}","{stored}",'
                f'"{9900 + index % 50}","{440000 + index % 300}","{"HTMN"[index % 4]}","{OFFERS[index % 8]}",'
                f'"{index % 9}","{CATEGORIES[index % 5]}","{urls[index % 997]}","{AGENTS[agent]}",'
                f'"{system[0]}","{system[1]}","{system[2]}"\r\n')
            if len(batch) == 10000:
                out.write("".join(batch))
                batch = []
        out.write("".join(batch))


main()
