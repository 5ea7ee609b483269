// botdesk: when the server refuses a page's action (a role below it: the callback gate
// answers 403 with a message), say so on the page instead of doing nothing. The buttons
// a role cannot use are disabled already; this covers a role changed while the page was
// open, or a request made by hand.
(function () {
    "use strict";
    var original = window.fetch;
    if (!original) {
        return;
    }

    function show(message) {
        var box = document.getElementById("desk-refusal");
        if (!box) {
            box = document.createElement("div");
            box.id = "desk-refusal";
            box.setAttribute("role", "alert");
            box.className = "alert alert-danger desk-refusal";
            document.body.appendChild(box);
        }
        box.textContent = "Not allowed: " + message + ".";
        box.hidden = false;
        clearTimeout(show.timer);
        show.timer = setTimeout(function () { box.hidden = true; }, 8000);
    }

    window.fetch = function (resource, options) {
        return original.apply(this, arguments).then(function (response) {
            var url = typeof resource === "string" ? resource : (resource && resource.url) || "";
            if (response.status === 403 && url.indexOf("/_dash-update-component") !== -1) {
                response.clone().json().then(function (body) {
                    show((body && body.error && body.error.message) || "the server refused this");
                }, function () {
                    show("the server refused this");
                });
            }
            return response;
        });
    };
})();
