#!/usr/bin/python3
"""check-html-report.py - the HTML report in a real browser.

Headless Chromium through Selenium (Debian: chromium, chromium-driver,
python3-selenium; pdfinfo from poppler-utils) opens the report of the
fixture log (tests/audit/html-fixture.sh, hostile values included) and
asserts: the console log is empty (a Content-Security-Policy violation
or a script error would be there), the performance log shows no request
other than file: and data:, no alert was raised, the style sheet applied
(the CSP allowed it by its hash), the charts have a size, the numbers in
the DOM equal the JSON report of the same log, and printing to PDF (A4)
gives exactly EXPECTED_PAGES pages. It saves a screenshot (a test
artifact) and the PDF in --out, and with --docs-image a copy of the
screenshot for the documentation.

Usage: check-html-report.py --builddir DIR --srcdir DIR --out DIR
       [--docs-image FILE]
Exit 0 when all passed, 1 on a failure, 77 when the browser is missing.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys

EXPECTED_PAGES = int(os.environ.get("TLSP_HTML_PAGES", "0")) or None

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL %s %s" % (name, detail))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--docs-image")
    ap.add_argument("--pages", type=int, default=EXPECTED_PAGES or 11)
    a = ap.parse_args()
    try:
        from selenium import webdriver
        from selenium.common.exceptions import NoAlertPresentException
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
    except ImportError:
        print("check-html-report: python3-selenium is not installed")
        return 77
    driver_bin = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not os.path.exists(driver_bin) or not shutil.which("pdfinfo"):
        print("check-html-report: chromium-driver or poppler-utils missing")
        return 77

    os.makedirs(a.out, exist_ok=True)
    out = os.path.abspath(a.out)
    tool = os.path.join(a.builddir, "tlspolicy-audit")
    mklog = os.path.join(a.builddir, "tests/audit/mklog")
    bodies = subprocess.run(
        ["sh", os.path.join(a.srcdir, "tests/audit/html-fixture.sh")],
        check=True, capture_output=True).stdout
    with open(os.path.join(out, "fixture.log"), "wb") as f:
        subprocess.run([mklog], input=bodies, stdout=f, check=True,
                       stderr=subprocess.DEVNULL)
    log = os.path.join(out, "fixture.log")
    html = os.path.join(out, "report.html")
    subprocess.run([tool, "report", "--format", "html", "-o", html, log],
                   check=True)
    js = json.loads(subprocess.run([tool, "report", "--format", "json", log],
                                   check=True, capture_output=True).stdout)

    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--disable-gpu", "--window-size=1200,1600",
                "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps",
                "--font-render-hinting=none", "--hide-scrollbars"):
        o.add_argument(arg)
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")
    o.set_capability("goog:loggingPrefs", {"browser": "ALL",
                                           "performance": "ALL"})
    d = webdriver.Chrome(service=Service(driver_bin), options=o)
    try:
        d.set_page_load_timeout(30)
        d.get("file://" + html)

        console = d.get_log("browser")
        check("console log empty", console == [], repr(console[:3]))
        urls = []
        for e in d.get_log("performance"):
            m = json.loads(e["message"])["message"]
            if m.get("method") == "Network.requestWillBeSent":
                urls.append(m["params"]["request"]["url"])
        check("the report itself was loaded", any(
            u.startswith("file:") for u in urls), repr(urls))
        check("no request but file: and data:", all(
            u.startswith(("file:", "data:")) for u in urls), repr(urls))
        try:
            d.switch_to.alert
            check("no alert", False, "an alert was raised")
        except NoAlertPresentException:
            check("no alert", True)
        check("no script element", d.find_elements(By.TAG_NAME, "script")
              == [])
        check("no img element", d.find_elements(By.TAG_NAME, "img") == [])

        border = d.find_element(By.ID, "verification").value_of_css_property(
            "border-top-width")
        check("the style sheet applied under the CSP", border == "3px",
              border)
        charts = d.find_elements(By.CSS_SELECTOR, "svg.chart")
        check("four charts", len(charts) == 4, str(len(charts)))
        check("charts have a size", all(
            c.size["width"] > 300 and c.size["height"] > 150 for c in charts),
            repr([c.size for c in charts]))

        def text(i):
            return d.find_element(By.ID, i).text.strip()
        check("title", d.title.startswith("Verified:"), d.title)
        check("records", int(text("n-records")) == js["evidence"]["records"])
        check("decisions", int(text("n-decisions")) ==
              js["total"]["decisions"])
        check("refused", int(text("n-refused")) == js["total"]["refused"])
        check("verified line", text("evidence") == js["evidence"]["summary"],
              text("evidence"))
        rows = []
        for tr in d.find_elements(By.CSS_SELECTOR, "#t-rcpt tbody tr"):
            td = [c.text for c in tr.find_elements(By.TAG_NAME, "td")]
            rows.append((td[0], int(td[1]), int(td[4])))
        want = [(x["domain"], x["decisions"], x["failed"])
                for x in js["domains"]]
        check("per-domain rows", rows == want, "%r != %r" % (rows, want))
        check("a hostile domain shown as text",
              "<script>alert(1)</script>.example" in [r[0] for r in rows])

        pdf = d.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True,
            "marginTop": 0.4, "marginBottom": 0.4, "marginLeft": 0.4,
            "marginRight": 0.4})
        pdfpath = os.path.join(out, "report.pdf")
        with open(pdfpath, "wb") as f:
            f.write(base64.b64decode(pdf["data"]))
        info = subprocess.run(["pdfinfo", pdfpath], check=True,
                              capture_output=True, text=True).stdout
        pages = int([l.split()[-1] for l in info.splitlines()
                     if l.startswith("Pages:")][0])
        check("PDF pages", pages == a.pages,
              "got %d, want %d" % (pages, a.pages))

        height = d.execute_script("return document.body.scrollHeight")
        d.set_window_size(1200, min(int(height) + 40, 2400))
        shot = os.path.join(out, "report.png")
        d.save_screenshot(shot)
        check("screenshot saved", os.path.getsize(shot) > 10000)
        if a.docs_image:
            shutil.copyfile(shot, a.docs_image)
    finally:
        d.quit()
    print("check-html-report: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
