extension IntegrationsPanel {
    /// The page itself: structure only. The script fills `#panel` after sign-in.
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Integrations · tradesync</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/integrations.css">
<script src="/assets/integrations.js" defer></script>
</head>
<body>
<header>
  <h1>Integrations</h1>
  <button id="refresh" type="button" hidden>Refresh</button>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<main>
  <p id="status" role="status" aria-live="polite"></p>
  <section id="signin" aria-labelledby="signin-title" hidden>
    <h2 id="signin-title">Sign in</h2>
    <form id="signin-form" autocomplete="off">
      <label for="token">API token</label>
      <input id="token" name="token" type="password" required spellcheck="false" aria-describedby="token-hint signin-error">
      <p id="signin-error" class="last-error" role="alert" hidden></p>
      <button type="submit" class="primary">Sign in</button>
      <p id="token-hint" class="hint">Make one with <code>tradesync token create --contractor ID -d DEPLOYMENT</code>.
        It is kept in this tab only (sessionStorage).</p>
    </form>
  </section>
  <div id="panel" hidden></div>
  <noscript><p>This page needs JavaScript.</p></noscript>
</main>
<dialog id="confirm" aria-labelledby="confirm-title">
  <form method="dialog">
    <h2 id="confirm-title">Disconnect?</h2>
    <p id="confirm-text"></p>
    <div class="buttons">
      <button value="cancel" type="submit">Cancel</button>
      <button value="ok" type="submit" class="primary" id="confirm-ok">Disconnect</button>
    </div>
  </form>
</dialog>
</body>
</html>
"""#
}
