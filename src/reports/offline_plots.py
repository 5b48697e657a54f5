"""An HTML template for `dvc plots show --html-template` with vega, vega-lite and vega-embed inlined.

DVC's default page loads these three scripts from a CDN: with no network its charts stay empty.
The scripts come from the npm registry (`npm pack`, the versions DVC's own page asks for) into a
cache folder once; the template has no `{scripts}` placeholder, so DVC adds no CDN tags.

    python -m src.reports.offline_plots [--cache .dvc/tmp/vega] [--out .dvc/tmp/plots_offline.html]
    dvc plots show --html-template .dvc/tmp/plots_offline.html
"""
import argparse
import subprocess
import tarfile
from pathlib import Path

# The versions dvc-render 1.0.2 puts in its CDN tags, and the file each package's CDN link serves.
PACKAGES = {"vega": ("5.20.2", "package/build/vega.min.js"),
            "vega-lite": ("5.2.0", "package/build/vega-lite.min.js"),
            "vega-embed": ("6.18.2", "package/build/vega-embed.min.js")}

PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>DVC Plot</title>
SCRIPTS
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>"""


def fetch_scripts(cache):
    """{package: path of its minified build} in cache, packing the missing ones with npm."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    scripts = {}
    for name, (version, member) in PACKAGES.items():
        script = cache / f"{name}-{version}.min.js"
        if not script.exists():
            tgz = cache / f"{name}-{version}.tgz"
            if not tgz.exists():
                subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=cache, check=True,
                               stdout=subprocess.DEVNULL)
            with tarfile.open(tgz) as archive:
                data = archive.extractfile(member).read()
            script.write_bytes(data)
        scripts[name] = script
    return scripts


def build_template(scripts, out):
    """Write the page with the scripts inlined (in dependency order) to out; returns out."""
    # "</script" inside the minified code would end the tag early: escape it the way JS allows.
    codes = [Path(scripts[name]).read_text(encoding="utf-8").replace("</script", "<\\/script") for name in PACKAGES]
    tags = "\n".join(f'    <script type="text/javascript">\n{code}\n    </script>' for code in codes)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(PAGE.replace("SCRIPTS", tags), encoding="utf-8")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", default=".dvc/tmp/vega", help="folder for the npm packages and scripts")
    parser.add_argument("--out", default=".dvc/tmp/plots_offline.html", help="template to write")
    args = parser.parse_args()
    out = build_template(fetch_scripts(args.cache), args.out)
    print(f"offline plots template: {out} (use: dvc plots show --html-template {out})")


if __name__ == "__main__":
    main()
