// Where the gateway is: the one line to change when this folder is served somewhere else.
//
// Empty means the page's own origin: `erp up` serves this folder at <gateway>/shop/.
// Served by any other static server, write the gateway's URL here (for example
// "https://erp.example.com") and list this page's origin in the gateway's ERP_CORS_ORIGINS.
export const GATEWAY_URL = "";
