"""DuckDB's version of the export-users diff, for bench/diff.sh: read the delivered state and the raw
source, normalize the source (trim + lower-case emails, keep one row per email), then the two anti-joins
(entered, exited) and the changed-row join, each written to NDJSON."""
import sys
import duckdb

previous, current, out = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute(f"""
create temp table prev as
select email, fields.first_name as first_name, fields.last_name as last_name, fields.city as city, audiences
from read_json('{previous}', format = 'newline_delimited',
  columns = {{email: 'VARCHAR', fields: 'STRUCT(city VARCHAR, first_name VARCHAR, last_name VARCHAR)',
             audiences: 'VARCHAR[]'}})
""")
con.execute(f"""
create temp table cur as
select lower(trim(email)) as email, any_value(first_name) as first_name, any_value(last_name) as last_name,
       any_value(city) as city, any_value(list_sort(audiences)) as audiences
from read_json('{current}', format = 'newline_delimited',
  columns = {{email: 'VARCHAR', first_name: 'VARCHAR', last_name: 'VARCHAR', city: 'VARCHAR',
             audiences: 'VARCHAR[]', score: 'BIGINT'}})
group by 1
""")
entered = con.execute(f"""
copy (select c.* from cur c anti join prev p using (email) order by email) to '{out}/entered.ndjson' (format json)
""").fetchone()[0]
exited = con.execute(f"""
copy (select p.* from prev p anti join cur c using (email) order by email) to '{out}/exited.ndjson' (format json)
""").fetchone()[0]
changed = con.execute(f"""
copy (select c.* from cur c join prev p using (email)
      where c.first_name is distinct from p.first_name or c.last_name is distinct from p.last_name
         or c.city is distinct from p.city or c.audiences is distinct from p.audiences
      order by email) to '{out}/changed.ndjson' (format json)
""").fetchone()[0]
print(f"duckdb: entered={entered} exited={exited} changed={changed}")
