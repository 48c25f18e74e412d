// Applies the remembered (or the system's) theme before first paint.
(function () {
  var theme = null;
  try { theme = localStorage.getItem("trainyard-theme"); } catch (e) {}
  if (theme !== "light" && theme !== "dark") {
    theme = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.documentElement.setAttribute("data-theme", theme);
})();
