// Widgets on the static site, fast. book/nbdev_reader.py inlines this script in every page (a few kB; it does nothing
// on pages without saved widget state), so it needs no request of its own and starts as soon as the page is parsed.
//
// anywidgets (the quizzes, the attention and sampling explorers) carry their own front end (`_esm`, `_css`) in the
// saved state, so this script renders them itself, as soon as the page is parsed: a few kilobytes instead of the
// ipywidgets HTML manager (about 3.6 MB with RequireJS). Views of any other widget library (sliders, progress bars,
// output areas) still need that manager: it is loaded only on pages that have such views, and only when one of them
// comes near the screen. Views rendered here get the type `application/vnd.lfs.widget-view+json`, so the manager
// leaves them alone.
(function () {
  "use strict";
  var ref = document.querySelector('script[src*="_static/"]');
  var base = ref ? ref.src.slice(0, ref.src.indexOf("_static/")) + "_static/lfs-widgets/" : "_static/lfs-widgets/";
  var VIEW = "application/vnd.jupyter.widget-view+json";
  var DONE = "application/vnd.lfs.widget-view+json";

  // The model API anywidget front ends use: get/set/save_changes, change events, send (no kernel: dropped).
  function makeModel(state) {
    var data = Object.assign({}, state);
    var handlers = {};
    function emit(name, value) {
      (handlers[name] || []).slice().forEach(function (h) { h(value); });
    }
    return {
      get: function (k) { return data[k]; },
      set: function (k, v) { data[k] = v; emit("change:" + k, v); },
      save_changes: function () { emit("change", data); },
      on: function (name, h) { (handlers[name] = handlers[name] || []).push(h); },
      off: function (name, h) {
        if (!name) { handlers = {}; return; }
        handlers[name] = h ? (handlers[name] || []).filter(function (x) { return x !== h; }) : [];
      },
      send: function () {},
      widget_manager: {},
    };
  }

  var styled = {};
  function addStyle(id, css) {
    if (!css || styled[id]) return;
    styled[id] = true;
    var s = document.createElement("style");
    s.textContent = css;
    document.head.appendChild(s);
  }

  // A front end of the common shape `...; export default { render };` (no imports) is evaluated directly: a dynamic
  // import() of a blob URL waits until the page's other scripts have run, which delays the quizzes by a few hundred
  // milliseconds. Anything else goes through import().
  function simpleBody(esm) {
    var m = /^[ \t]*export\s+default\s+(\{[\w\s,]*\})\s*;?\s*$/m.exec(esm);
    if (!m || m.index + m[0].length < esm.replace(/\s+$/, "").length) return null;  // not the last statement
    var body = esm.slice(0, m.index);
    if (/^\s*(import|export)\b/m.test(body)) return null;
    return "\"use strict\";\n" + body + "\nreturn " + m[1] + ";";  // modules are strict
  }
  var modules = {};
  function loadModule(esm) {
    if (!modules[esm]) {
      var simple = simpleBody(esm);
      var loaded;
      if (simple) {
        try { loaded = Promise.resolve(new Function(simple)()); }
        catch (e) { loaded = null; }
      }
      if (!loaded) {
        var url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
        loaded = import(url).then(function (m) {
          var def = m.default !== undefined ? m.default : m;
          return typeof def === "function" ? def() : def;  // `export default () => ({ render })` form
        });
      }
      modules[esm] = loaded;
    }
    return modules[esm];
  }

  function renderAnywidget(tag, st) {
    var el = document.createElement("div");
    el.className = "lfs-anywidget";
    tag.type = DONE;
    tag.parentNode.insertBefore(el, tag.nextSibling);
    addStyle(st._anywidget_id || st._esm, st._css);
    var model = makeModel(st);
    return loadModule(st._esm).then(function (w) {
      var ready = w.initialize ? w.initialize({ model: model }) : null;
      return Promise.resolve(ready).then(function () {
        var render = w.render || (typeof w === "function" ? w : null);
        if (render) return render({ model: model, el: el });
      });
    }).catch(function (e) {
      el.textContent = "Error displaying widget";
      console.error("widget", e);
    });
  }

  var fullManager = null;
  function loadFullManager() {
    if (fullManager) return fullManager;
    fullManager = new Promise(function (done) {
      var chain = ["require.js", "widgets-config.js", "embed-amd.js"];
      (function next() {
        var name = chain.shift();
        if (!name) { done(); return; }
        var s = document.createElement("script");
        s.src = base + name;
        if (name === "embed-amd.js") s.setAttribute("data-jupyter-widgets-cdn", base + "missing/");
        s.onload = next;
        document.head.appendChild(s);
      })();
    });
    return fullManager;
  }

  function start() {
    var stateTag = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
    if (!stateTag) return;
    var models = JSON.parse(stateTag.textContent).state || {};
    var others = [];
    document.querySelectorAll('script[type="' + VIEW + '"]').forEach(function (tag) {
      var m = models[JSON.parse(tag.textContent).model_id];
      if (m && m.model_module === "anywidget" && m.state && m.state._esm) renderAnywidget(tag, m.state);
      else others.push(tag.parentNode);
    });
    if (!others.length) return;
    if (!("IntersectionObserver" in window)) { loadFullManager(); return; }
    var seen = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); loadFullManager(); }
    }, { rootMargin: "600px 0px" });
    others.forEach(function (el) { seen.observe(el); });
  }

  window.lfsWidgets = { loadFullManager: loadFullManager };
  // Start as soon as the page is parsed ("interactive"), before deferred scripts run.
  if (document.readyState !== "loading") start();
  else document.addEventListener("readystatechange", function once() {
    document.removeEventListener("readystatechange", once);
    start();
  });
})();
