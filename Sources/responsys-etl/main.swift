print("responsys-etl")
