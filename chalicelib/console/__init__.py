"""The operator console: server-rendered pages (``routes`` wires them, ``views`` gathers their
data, ``templates/`` renders it), sessions and CSRF (``sessions``), charts as inline SVG
(``charts``) and the bounded daily series they draw (``series``)."""
