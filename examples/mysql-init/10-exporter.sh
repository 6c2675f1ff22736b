#!/bin/sh
# Runs once, on the MySQL container's first start (docker-entrypoint-initdb.d):
# creates the least-privileged user queuescope reads server status with.
# PROCESS: the processlist; REPLICATION CLIENT: replica status; SELECT on
# performance_schema is enough for the rest. The password comes from the
# environment (.env), never from this file.
set -eu
mysql --protocol=socket -uroot -p"${MYSQL_ROOT_PASSWORD}" <<SQL
CREATE USER IF NOT EXISTS 'exporter'@'%' IDENTIFIED BY '${MYSQL_EXPORTER_PASSWORD}' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'exporter'@'%';
GRANT SELECT ON performance_schema.* TO 'exporter'@'%';
SQL
