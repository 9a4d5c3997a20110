"""The package's import directions: run/ imports no task, sr/ imports nothing from gan/, and the
libraries (models/, data/, metrics/) import neither tasks nor tools."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / 'jaxgan'
TOOLS = ('main', 'sample', 'evaluate', 'upscale', 'report', 'benchmark', 'export')


def is_main_block(node) -> bool:
  """`if __name__ == '__main__':`: a library module's command line, which may start through
  run/cli.py as every tool does."""
  test = getattr(node, 'test', None)
  return (isinstance(node, ast.If) and isinstance(test, ast.Compare)
          and isinstance(test.left, ast.Name) and test.left.id == '__name__')


def imported_modules(path: pathlib.Path) -> set[str]:
  names = set()
  tree = ast.parse(path.read_text())
  tree.body = [node for node in tree.body if not is_main_block(node)]
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names |= {a.name for a in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module:
      names.add(node.module)
      names |= {f'{node.module}.{a.name}' for a in node.names}
  return {n for n in names if n.startswith('jaxgan')}


FORBIDDEN = {
    'run': ('jaxgan.gan', 'jaxgan.sr') + tuple(f'jaxgan.{t}' for t in TOOLS),
    'sr': ('jaxgan.gan',) + tuple(f'jaxgan.{t}' for t in TOOLS),
    'gan': ('jaxgan.sr',) + tuple(f'jaxgan.{t}' for t in TOOLS),
    'models': ('jaxgan.gan', 'jaxgan.sr', 'jaxgan.run'),
    'data': ('jaxgan.gan', 'jaxgan.sr', 'jaxgan.run', 'jaxgan.models'),
    'metrics': ('jaxgan.gan', 'jaxgan.sr', 'jaxgan.run'),
}


@pytest.mark.parametrize('folder', sorted(FORBIDDEN))
def test_imports_point_down_only(folder):
  files = sorted((PACKAGE / folder).rglob('*.py'))
  assert files
  for path in files:
    bad = sorted(m for m in imported_modules(path)
                 if any(m == f or m.startswith(f + '.') for f in FORBIDDEN[folder]))
    assert not bad, f'{path.relative_to(PACKAGE)} imports {bad}'


def test_the_top_level_holds_tools_and_shared_libraries_only():
  top = {p.stem for p in PACKAGE.glob('*.py')} - {'__init__'}
  assert top == set(TOOLS) | {'losses', 'images', 'cache', 'config_files'}
