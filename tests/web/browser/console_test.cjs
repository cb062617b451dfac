// The operator console in a real browser, run by portal_test.cjs after the portal's journeys
// (so the customers it signed up exist). In both languages: staff sign-in, the dashboard, the
// customer signed up in the portal found by phone and opened, an identity approved from the
// review queue, a small profile file imported, plans, and the outbox. A support user cannot
// open plans or the import. Negative: a sign-in form without its CSRF token, wrong passwords
// past the limit, and a subscriber's session opening no console page. Screenshots of the main
// console pages in both languages go to STATION_SCREENSHOTS_DIR as console-*-<language>.png.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const DESK_VIEWPORT = { width: 1280, height: 800 };
const STAFF_PASSWORD = "console test password";
const STAFF = [
  { username: "ada", role: "admin" },
  { username: "sam", role: "support" },
  { username: "lou", role: "support" },  // locked out by the negative test
];

const TEXT = {
  "zh-CN": { signIn: "员工登录", approved: "已通过该实名认证", imported: "已导入档案数", verified: "已认证",
             forbidden: "角色无权访问" },
  en: { signIn: "Staff sign-in", approved: "The identity was approved", imported: "Profiles imported",
        verified: "Verified", forbidden: "Not allowed for your role" },
};

// Staff accounts, made with the admin CLI before the server starts (passwords from stdin).
function createStaff(station, execFileSync) {
  for (const { username, role } of STAFF) {
    execFileSync(station.binary, ["admin", "staff", "create", "--username", username, "--role", role,
                                  "--password-stdin", "--data-dir", station.data],
                 { input: STAFF_PASSWORD + "\n" });
  }
}

function luhnComplete(body) {
  let total = 0;
  [...body].reverse().forEach((ch, i) => {
    let d = Number(ch);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    total += d;
  });
  return body + String((10 - (total % 10)) % 10);
}

async function signIn(page, station, username, password = STAFF_PASSWORD) {
  await page.goto(station.base + "/console/signin");
  await page.locator("#username").fill(username);
  await page.locator("#password").fill(password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/console/signin") && r.request().method() === "POST"),
    page.locator("form[action='/console/signin'] button[type=submit]").click()]);
  return response;
}

// A customer whose identity waits for review, made through the JSON API.
async function pendingIdentity(station, name, phone) {
  const customer = await station.api("POST", "/v1/customers", { name, phone, currency: "CNY" });
  assert.equal(customer.status, 201);
  const identity = await station.api("POST", `/v1/customers/${customer.json.id}/identity`, {
    document_type: "passport", document_number: "E7654321", full_name: name,
    date_of_birth: "1985-05-05", nationality: "CN" });
  assert.equal(identity.status, 201);
  return customer.json.id;
}

async function journey(browser, station, language, helpers, portalPhone, importBase) {
  const { shot, checkSecurityHeaders } = helpers;
  const t = TEXT[language];
  const context = await browser.newContext({ locale: language, viewport: DESK_VIEWPORT });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  const start = await page.goto(station.base + "/console");
  assert.match(page.url(), /\/console\/signin$/);
  checkSecurityHeaders(start);
  assert.equal(await page.textContent("h1"), t.signIn);
  await shot(page, language, "console-signin");
  const before = (await context.cookies()).find((c) => c.name === "station_console").value;
  assert.equal((await signIn(page, station, "ada")).status(), 303);
  const session = (await context.cookies()).find((c) => c.name === "station_console");
  assert.notEqual(session.value, before, "signing in rotates the session id");
  assert.ok(session.httpOnly);

  // Dashboard: live figures.
  await page.waitForSelector("[data-testid=orders-by-state]");
  const orderCounts = await page.$$eval("[data-testid=orders-by-state] tbody td.num",
                                        (cells) => cells.map((cell) => Number(cell.textContent)));
  assert.equal(orderCounts.reduce((sum, n) => sum + n, 0), 2, "the portal's two orders");
  assert.match(await page.textContent("[data-testid=topups-CNY]"), /100\.00/);
  await shot(page, language, "console-dashboard");

  // The customer signed up in the portal, found by the end of the phone number.
  await page.goto(station.base + "/console/customers");
  await page.locator("#q").fill(portalPhone.slice(-6));
  await page.locator("form[action='/console/customers'] button").click();
  await page.waitForSelector("[data-testid=customer-results]");
  await shot(page, language, "console-customers");
  await page.locator("[data-testid=customer-results] a").first().click();
  await page.waitForSelector("[data-testid=customer-audit]");
  const id = await page.textContent("[data-testid=customer-id]");
  const wallet = await station.api("GET", `/v1/customers/${id}/wallet`);
  assert.match(await page.textContent("[data-testid=customer-balance]"),
               new RegExp((wallet.json.balance_minor / 100).toFixed(2).replace(".", "\\.")));
  assert.equal(await page.locator("[data-testid=customer-orders] tbody tr").count(), 1);
  assert.match(await page.textContent("[data-testid=identity-state]"), new RegExp(t.verified));
  await shot(page, language, "console-customer");

  // An identity approved from the review queue.
  const customer = await pendingIdentity(station, language === "en" ? "Ann Lee" : "王芳",
                                         language === "en" ? "+8613900139102" : "+8613900139101");
  await page.goto(station.base + "/console/kyc");
  const item = page.locator(`[data-testid=kyc-item][data-customer="${customer}"]`);
  await item.waitFor();
  await shot(page, language, "console-kyc");
  await item.locator("[data-testid=approve]").click();
  await page.waitForSelector("[data-testid=kyc-done]");
  assert.match(await page.textContent("[data-testid=kyc-done]"), new RegExp(t.approved));
  const identity = await station.api("GET", `/v1/customers/${customer}/identity`);
  assert.equal(identity.json.state, "verified");
  assert.equal(identity.json.reviewed_by, "staff:ada");

  // A small profile file through the upload form.
  const csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "station-pool-")), "pool.csv");
  let rows = "iccid,imsi,ki,opc\n";
  for (let n = importBase; n < importBase + 2; n++) {
    rows += `${luhnComplete("898601" + String(n).padStart(12, "0"))},46001${String(n).padStart(10, "0")},${"C".repeat(32)},${"D".repeat(32)}\n`;
  }
  fs.writeFileSync(csv, rows);
  await page.goto(station.base + "/console/profiles");
  const available = Number(await page.textContent("[data-testid=pool-available]"));
  await page.locator("#file").setInputFiles(csv);
  await page.locator("form[action='/console/profiles'] button").click();
  await page.waitForSelector("[data-testid=import-done]");
  assert.match(await page.textContent("[data-testid=import-done]"), new RegExp(t.imported + ".*2"));
  assert.equal(Number(await page.textContent("[data-testid=pool-available]")), available + 2);
  assert.ok(!(await page.content()).includes("C".repeat(32)), "Ki is never shown");
  await shot(page, language, "console-profiles");

  await page.goto(station.base + "/console/plans");
  await page.waitForSelector("[data-testid=plans]");
  await shot(page, language, "console-plans");

  await page.goto(station.base + "/console/outbox");
  assert.ok(await page.locator("[data-testid=outbox] tbody tr").count() > 0);
  await shot(page, language, "console-outbox");

  assert.deepEqual(errors, [], "no console errors (CSP violations show up here)");
  await context.close();
}

async function supportCannotOpenAdminPages(browser, station, { shot }) {
  const context = await browser.newContext({ locale: "en", viewport: DESK_VIEWPORT });
  const page = await context.newPage();
  assert.equal((await signIn(page, station, "sam")).status(), 303);
  assert.equal(await page.locator("nav a[href='/console/plans']").count(), 0);
  for (const target of ["/console/plans", "/console/profiles"]) {
    const response = await page.goto(station.base + target);
    assert.equal(response.status(), 403, target);
    assert.equal(await page.locator("table").count(), 0, "no data of the page");
  }
  await shot(page, "en", "console-forbidden");
  const queue = await page.goto(station.base + "/console/kyc");
  assert.equal(queue.status(), 200, "support reviews identities");
  await context.close();
}

async function negatives(browser, station, { shot }, portalPage) {
  const context = await browser.newContext({ locale: "en", viewport: DESK_VIEWPORT });
  const page = await context.newPage();
  // The sign-in form without its CSRF token.
  await page.goto(station.base + "/console/signin");
  await page.locator("#username").fill("ada");
  await page.locator("#password").fill(STAFF_PASSWORD);
  await page.$eval("form[action='/console/signin'] input[name=csrf]", (input) => input.remove());
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/console/signin") && r.request().method() === "POST"),
    page.locator("form[action='/console/signin'] button").click()]);
  assert.equal(refused.status(), 403);
  assert.equal(await page.textContent("[data-testid=error-code]"), "forbidden");
  assert.equal((await page.goto(station.base + "/console/dashboard")).url(),
               station.base + "/console/signin", "not signed in");

  // Wrong passwords past the limit: the account locks, its right password then opens nothing.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const response = await signIn(page, station, "lou", "not the password");
    assert.equal(response.status(), attempt < 5 ? 401 : 429, `attempt ${attempt}`);
  }
  assert.equal((await signIn(page, station, "lou")).status(), 429);
  await page.waitForSelector("[data-testid=signin-message]");
  await shot(page, "en", "console-locked");
  await context.close();

  // A subscriber signed in to the portal opens no console page.
  const response = await portalPage.goto(station.base + "/console/dashboard");
  assert.equal(response.status(), 200);
  assert.match(portalPage.url(), /\/console\/signin$/);
}

async function consoleTests(browser, station, helpers, portalPage) {
  await journey(browser, station, "zh-CN", helpers, "+8613900139001", 21);
  console.log("ok console zh-CN journey");
  await journey(browser, station, "en", helpers, "+8613900139002", 31);
  console.log("ok console en journey");
  await supportCannotOpenAdminPages(browser, station, helpers);
  console.log("ok support cannot open plans or the import");
  await negatives(browser, station, helpers, portalPage);
  console.log("ok console CSRF, password limit and subscriber session refused");
}

module.exports = { createStaff, consoleTests };
