// Where RequireJS finds the widget front ends that the site serves itself (no CDN). Loaded after require.js and
// before the ipywidgets HTML manager (embed-amd.js) on pages with saved widget state; see book/_config.yml.
// - anywidget: its front end renders every anywidget (the course's Quiz and any other); their code is in the state.
// - the HTML manager's own modules: their URL is also where its CSS looks for its font files (copied beside it).
(function () {
  var src = document.currentScript.src.split("?")[0];
  var base = src.slice(0, src.lastIndexOf("/") + 1);
  window.requirejs.config({
    paths: { anywidget: base + "anywidget", "@jupyter-widgets": base.slice(0, -1),
             "@jupyter-widgets/html-manager/dist": base.slice(0, -1) },
  });
})();
