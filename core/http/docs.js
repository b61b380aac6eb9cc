// Starts Swagger UI (served by core from the pinned swagger-ui-bundle-v2 package) on the
// page's #swagger-ui element; the OpenAPI document's URL comes from its data-url attribute.
// A file rather than an inline script, so the page's CSP can forbid inline scripts.
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    // Swagger UI's default asks an online validator for a badge: nothing leaves this host.
    validatorUrl: null,
  });
})();
